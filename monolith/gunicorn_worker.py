"""gunicorn's threaded worker, answering a request head it refuses with problem+json.

gunicorn parses the head itself and writes an HTML page for a request line or
header fields over its limits (gunicorn_conf.py sets them to the shop's, from
shop/web/request_head.py) and for a head that is not HTTP. This worker writes the
same problem+json every stage answers instead; any other error is gunicorn's.
"""

from __future__ import annotations

from gunicorn import util
from gunicorn.http import errors
from gunicorn.workers.gthread import ThreadWorker

from shop.problems import Problem
from shop.web.request_head import (
    HEADERS_LIMIT,
    headers_too_large,
    raw_problem_response,
    uri_too_long,
)

_MALFORMED = (
    errors.InvalidRequestLine,
    errors.InvalidRequestMethod,
    errors.InvalidHTTPVersion,
    errors.InvalidHeader,
    errors.InvalidHeaderName,
    errors.ObsoleteFolding,
)


def problem_for(error: BaseException) -> Problem | None:
    if isinstance(error, errors.LimitRequestLine):
        return uri_too_long()
    if isinstance(error, errors.LimitRequestHeaders):
        return headers_too_large(f"the header fields are over the limits ({HEADERS_LIMIT} bytes)")
    if isinstance(error, _MALFORMED) and not isinstance(
        error, (errors.InvalidResponseHeader, errors.InvalidResponseHeaderName)
    ):
        return Problem("malformed-request", "the request is not valid HTTP/1.1")
    return None


class ProblemWorker(ThreadWorker):
    def handle_error(self, req, client, addr, exc) -> None:
        problem = problem_for(exc)
        if problem is None:
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("refused a request head: %s (%s)", problem.detail, exc)
        try:
            util.write_nonblock(client, raw_problem_response(problem))
        except OSError:
            self.log.debug("could not send the refusal")
