"""Calling another service: timeouts always, retries only where the call is idempotent.

Failures are split by what the caller may conclude:
- `NotSent`: the connection was refused, so the other side never saw the call;
- `NoAnswer`: it timed out or broke (or answered 5xx), so the call may or may not
  have taken effect: only an idempotent call may be repeated, else compensate.
A 4xx problem from the other side is raised as that Problem.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from shop.problems import Problem
from shop.telemetry.tracing import traced_client
from shop.web import request_id

log = logging.getLogger("upstream")

ATTEMPTS = 3  # of an idempotent call


def _backoff(attempt: int) -> float:
    return 0.1 * 3 ** (attempt - 1)


def longest_call(connect_timeout: float, timeout: float, attempts: int = ATTEMPTS) -> float:
    """The most seconds one call can take, with every retry and its backoff."""
    return attempts * (connect_timeout + timeout) + sum(map(_backoff, range(1, attempts)))


class UpstreamError(Exception):
    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.detail = detail


class NotSent(UpstreamError):
    """The call never reached the service."""


class NoAnswer(UpstreamError):
    """The call may have reached the service; its outcome is unknown."""


class Upstream:
    """One peer service, over one pooled HTTP client (traced: each call is a client span
    whose `traceparent` makes the peer's server span its child)."""

    def __init__(self, service: str, base_url: str, connect_timeout: float, timeout: float) -> None:
        self.service = service
        self.client = traced_client(
            httpx.Client(base_url=base_url, timeout=httpx.Timeout(timeout, connect=connect_timeout))
        )

    def close(self) -> None:
        self.client.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        idempotent: bool = False,
        attempts: int = ATTEMPTS,
        timeout: float | None = None,
    ) -> Any:
        """The JSON answer of a 2xx; retried (with backoff) only if `idempotent`."""
        tries = attempts if idempotent else 1
        uncertain: NoAnswer | None = None
        for attempt in range(1, tries + 1):
            try:
                return self._once(method, path, json, params, timeout)
            except UpstreamError as error:
                if isinstance(error, NoAnswer):
                    uncertain = error
                if attempt == tries:
                    # NotSent only if no attempt at all may have reached the service.
                    raise uncertain or error from None
                log.warning("%s, retry %d of %d", error, attempt, tries - 1)
                time.sleep(_backoff(attempt))
        raise AssertionError("unreachable")

    def _once(self, method, path, json, params, timeout) -> Any:
        headers = {request_id.HEADER: request_id.current()}
        extra = {} if timeout is None else {"timeout": timeout}
        try:
            answer = self.client.request(
                method, path, json=json, params=params, headers=headers, **extra
            )
        except httpx.ConnectError as error:
            raise NotSent(self.service, f"not reachable ({error})") from None
        except httpx.TimeoutException:
            raise NoAnswer(self.service, "timed out") from None
        except httpx.HTTPError as error:
            raise NoAnswer(self.service, f"failed ({type(error).__name__})") from None
        if answer.status_code >= 500:
            raise NoAnswer(self.service, f"answered {answer.status_code}")
        if answer.status_code >= 400:
            raise _as_problem(answer)
        return answer.json()


def _as_problem(answer: httpx.Response) -> Problem:
    try:
        body = answer.json()
        slug = str(body.get("type", "")).rsplit("/", 1)[-1]
        extensions = {k: v for k, v in body.items() if k not in Problem.FIELDS}
        return Problem(slug, body.get("detail", ""), **extensions)
    except (ValueError, KeyError, AttributeError):
        return Problem("bad-gateway", f"unexpected answer {answer.status_code}")


def unavailable(error: UpstreamError) -> Problem:
    """The problem a client gets when a dependency failed and nothing was done."""
    if isinstance(error, NotSent):
        return Problem("service-unavailable", f"{error.service} is unavailable; nothing was done")
    return Problem("gateway-timeout", f"{error.service} did not answer in time; nothing was done")
