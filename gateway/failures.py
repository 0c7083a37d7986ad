"""How a failed upstream call becomes the client's problem+json, never a 500 or a hang.

503 when the service could not be reached (nothing was sent), 504 when it did not
answer in time, 502 for anything else that broke the exchange.
"""

from __future__ import annotations

import logging

import httpx

from shop.problems import Problem
from shop.web import http_pool

log = logging.getLogger("gateway")


class UpstreamFailure(Exception):
    """The call failed; `problem` is what the client gets."""

    def __init__(self, problem: Problem, attempts: int) -> None:
        super().__init__(problem.detail)
        self.problem = problem
        self.attempts = attempts


def _classify(error: Exception) -> tuple[str, str]:
    """(problem slug, what the service did) for an exception raised by a call (the
    forwarding pool's, or httpx's)."""
    if isinstance(error, http_pool.ConnectFailed | httpx.ConnectError):
        return "service-unavailable", "is not reachable"
    if isinstance(error, http_pool.ConnectTimedOut | httpx.ConnectTimeout):
        return "service-unavailable", "did not accept a connection"
    if isinstance(error, http_pool.PoolFull | httpx.PoolTimeout):
        return "service-unavailable", "has too many calls in flight"
    if isinstance(error, http_pool.TimedOut | httpx.TimeoutException | TimeoutError):
        return "gateway-timeout", "did not answer in time"
    return "bad-gateway", f"failed ({type(error).__name__})"


def upstream_failure(service: str, error: Exception, attempts: int) -> UpstreamFailure:
    """The failure to raise for `error`, met calling `service` after `attempts` tries."""
    if not isinstance(error, http_pool.CallFailed | httpx.HTTPError | TimeoutError):  # a bug
        log.error("unexpected failure calling %s", service, exc_info=error)
    slug, what = _classify(error)
    problem = Problem(slug, f"the {service} service {what}", service=service)
    return UpstreamFailure(problem, attempts)


def order_may_exist(problem: Problem) -> Problem:
    """The call reached orders and broke off: the saga may go on and place the order.
    The client cannot know; an Idempotency-Key lets it ask again and get that order."""
    detail = (
        f"{problem.detail}; the order may still be placed: a retry with the same "
        "Idempotency-Key is safe and answers that order"
    )
    return Problem(problem.type.slug, detail, **problem.extensions)
