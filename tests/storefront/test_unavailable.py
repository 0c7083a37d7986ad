"""The storefront when the stage behind it fails: a 502, 503 or 504 from the API is told
as the stage being unavailable, in the problem's words, with no JSON shown.

A stage whose services fail on demand is slow to set up; the page cannot tell the
difference, so a small server here serves the real storefront files (the same
shop.web.storefront the stages use) and answers every /api call with the problem a
gateway sends when a service is down or too slow.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shop.problems import PROBLEM_CONTENT_TYPE, Problem
from shop.web.storefront import Storefront
from tests.storefront.browser import Shopper, keep_screenshots_of_failure

FAILURES = {
    503: Problem("service-unavailable", "the catalog service is not reachable"),
    504: Problem("gateway-timeout", "the catalog service did not answer in time"),
    502: Problem("bad-gateway", "the catalog service closed the connection"),
}


def _failing_stage(storefront: Storefront, failure: list[Problem]) -> type:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = storefront.answer("GET", self.path.split("?")[0], self.headers["Accept"])
            if found is None or isinstance(found, Problem):
                problem = failure[0]
                body = json.dumps(problem.to_dict(instance=self.path)).encode()
                self._send(problem.status, PROBLEM_CONTENT_TYPE, body, {})
            else:
                self._send(200, found.content_type, found.body, found.headers)

        def _send(self, status: int, content_type: str, body: bytes, headers: dict) -> None:
            self.send_response(status)
            for name, value in {**headers, "Content-Type": content_type}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # quiet: pytest shows what matters
            pass

    return Handler


@pytest.fixture(scope="module")
def failing() -> Iterator[tuple[str, list[Problem]]]:
    """The URL of a stage named "failing" whose API answers failure[0]."""
    failure = [FAILURES[503]]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _failing_stage(Storefront("failing"), failure))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", failure
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def shopper(request, browser, failing, tmp_path) -> Iterator[Shopper]:
    shopper = Shopper(browser, failing[0])
    yield shopper
    keep_screenshots_of_failure(request.node, shopper, tmp_path)


@pytest.mark.parametrize("status", sorted(FAILURES))
def test_a_failing_stage_is_told_as_unavailable(failing, shopper, status):
    _url, failure = failing
    problem = failure[0] = FAILURES[status]
    with shopper.step(f"answer-{status}"):
        shopper.driver.get(shopper.base_url + "/")
        shown = shopper.shown(".problem", "the problem shown").text
        assert shown == (
            f"The failing stage is temporarily unavailable "
            f"({problem.type.title}: {problem.detail}).\nTry again in a moment."
        )
