"""The API gateway over real HTTP: real uvicorn processes in front of fake upstreams.

Five fake upstreams (tests/microservices/fake_upstream.py), each reporting its own
name, stand in for the services. Two gateways are started once for the module:
`gateway`, whose upstreams all answer, with short timeouts and a small body limit;
and `broken`, whose payments URL has nothing listening and whose notifications
service is not ready.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway import failures, health, routes, upstream
from shop import openapi
from shop.schemas import Health
from shop.web import http_pool
from stages.launcher import FileSink, Launcher, ProcessSpec, free_port
from tests.microservices.fake_upstream import BIG_SIZE, GZIPPED, PROBLEM_BODY, big_body
from tests.support.raw_http import http_exchange

PROBLEMS = "https://threefold.example/problems/"
SERVICES = ("catalog", "inventory", "orders", "payments", "notifications")
FAKE = "tests/microservices/fake_upstream.py"
LIMIT = 4096  # MAX_BODY_BYTES of the gateways
CALL_TIMEOUT = 1.0
ORDER_TIMEOUT = 4.0


@dataclass
class Running:
    gateway: str  # base URL of the gateway whose upstreams all answer
    broken: str  # base URL of the gateway with an unreachable and a not-ready upstream
    log: Path

    def log_lines(self, request_id: str, timeout: float = 5.0) -> list[str]:
        """The messages of the gateway's log lines (JSON) written for `request_id` (the line
        is written after the answer)."""
        deadline = time.monotonic() + timeout
        while True:
            texts = [line.split(" | ", 1)[1] for line in self.log.read_text().splitlines()]
            entries = [json.loads(text) for text in texts if text.startswith("{")]  # not fakes'
            lines = [e["message"] for e in entries if e.get("request_id") == request_id]
            if lines or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


def _uvicorn(port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "--factory", "gateway.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
    ]  # fmt: skip


def _fake(name: str, port: int, *flags: str) -> ProcessSpec:
    argv = [sys.executable, FAKE, "--name", name, "--port", str(port), *flags]
    return ProcessSpec(name=f"fake-{name}", argv=argv, port=port, ready_path="/healthz")


@pytest.fixture(scope="module")
def running(tmp_path_factory) -> Iterator[Running]:
    ports = {name: free_port() for name in SERVICES}
    fakes = [_fake(name, port) for name, port in ports.items()]
    not_ready = _fake("not-ready", free_port(), "--not-ready")
    dead = free_port()  # nothing listens here
    folder = tmp_path_factory.mktemp("gateway")
    common = {
        "TRACES_DIR": str(folder / "traces"),  # tracing on: spans have somewhere to go
        "CONNECT_TIMEOUT": "0.5",
        "CALL_TIMEOUT": str(CALL_TIMEOUT),
        "ORDER_TIMEOUT": str(ORDER_TIMEOUT),
        "READYZ_TIMEOUT": "0.5",
        "MAX_BODY_BYTES": str(LIMIT),
        "LOG_LEVEL": "INFO",
        "ACCESS_LOG": "1",  # the line per request is checked below (off by default)
    }
    urls = {f"{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    gateway_port, broken_port = free_port(), free_port()
    gateway = ProcessSpec("gateway", _uvicorn(gateway_port), gateway_port, urls | common)
    broken_urls = urls | {
        "PAYMENTS_URL": f"http://127.0.0.1:{dead}",
        "NOTIFICATIONS_URL": not_ready.url,
    }
    broken = ProcessSpec(
        "broken", _uvicorn(broken_port), broken_port, broken_urls | common, ready_path="/healthz"
    )
    log = folder / "processes.log"
    with Launcher([*fakes, not_ready, gateway, broken], sink=FileSink(log), ready_timeout=30):
        yield Running(gateway.url, broken.url, log)


@pytest.fixture(scope="module")
def client(running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.gateway, timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture(scope="module")
def broken(running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.broken, timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture
def own_client(running) -> Iterator[httpx.Client]:
    """A client of its own for requests after which the gateway closes the connection."""
    with httpx.Client(base_url=running.gateway, timeout=10, trust_env=False) as client:
        yield client


def assert_problem(answer: httpx.Response, slug: str, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers.get("x-request-id")
    body = answer.json()
    assert body["type"] == PROBLEMS + slug
    assert body["status"] == status
    return body


def headers_seen(echo: dict) -> dict[str, str]:
    return {name: value for name, value in echo["headers"]}


def raw_exchange(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP/1.1 request on a fresh connection: status, headers, body."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        status, headers, body = http_exchange(sock, request)
    return int(status.split()[1]), headers, body


# --- routing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "service"),
    [
        ("GET", "/api/products", "catalog"),
        ("POST", "/api/products", "catalog"),
        ("GET", "/api/products/TF-0001", "catalog"),
        ("PUT", "/api/products/TF-0001", "catalog"),
        ("GET", "/api/stock/TF-0001", "inventory"),
        ("POST", "/api/stock/TF-0001", "inventory"),
        ("POST", "/api/orders", "orders"),
        ("GET", "/api/orders", "orders"),
        ("GET", "/api/orders/ord_123", "orders"),
        ("GET", "/api/payments", "payments"),
        ("GET", "/api/notifications", "notifications"),
    ],
)
def test_each_prefix_reaches_its_service(client, method, path, service):
    answer = client.request(method, path)
    assert answer.status_code == 200, answer.text
    echo = answer.json()
    assert (echo["service"], echo["method"], echo["path"]) == (service, method, path)


def test_method_path_query_and_body_are_forwarded_unchanged(client):
    body = b'{"name": "Oak \\u00e9 Mug", "price_cents": 1200}'
    answer = client.request(
        "PATCH",
        "/api/products/A%3BB%00C?q=oak%20mug&q=x&page=2&odd=%zz",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    echo = answer.json()
    assert echo["method"] == "PATCH"
    assert echo["path"] == "/api/products/A%3BB%00C"
    assert echo["query"] == "q=oak%20mug&q=x&page=2&odd=%zz"
    assert echo["body"].encode("latin-1") == body
    assert headers_seen(echo)["content-length"] == str(len(body))


def test_a_chunked_body_under_the_limit_arrives_whole(client):
    parts = [b"a" * 1000, b"b" * 1000, b"c" * 1000]
    answer = client.post("/api/orders", content=iter(parts))
    echo = answer.json()
    assert echo["body"].encode() == b"".join(parts)
    assert headers_seen(echo)["content-length"] == "3000"
    assert "transfer-encoding" not in headers_seen(echo)


def test_a_body_of_exactly_the_limit_is_forwarded(client):
    answer = client.post("/api/orders", content=b"x" * LIMIT)
    assert answer.status_code == 200
    assert len(answer.json()["body"]) == LIMIT


def test_end_to_end_headers_pass_and_hop_by_hop_ones_do_not(client):
    answer = client.get(
        "/api/products",
        headers={
            "Authorization": "Bearer secret-token",
            "X-Custom": "kept",
            "Connection": "keep-alive, X-Private",
            "X-Private": "named in Connection",
            "Keep-Alive": "timeout=5",
            "Proxy-Authorization": "Basic abc",
            "TE": "trailers",
        },
    )
    seen = headers_seen(answer.json())
    assert seen["authorization"] == "Bearer secret-token"
    assert seen["x-custom"] == "kept"
    assert seen["x-forwarded-for"] == "127.0.0.1"
    for name in ("x-private", "keep-alive", "proxy-authorization", "te"):
        assert name not in seen
    assert seen["host"] != client.base_url.netloc.decode()  # the service's own address


def test_x_forwarded_for_keeps_the_chain_the_client_sent(client):
    """uvicorn trusts a proxy at 127.0.0.1 by default and takes the client from the header:
    the chain then already ends with that client and the gateway keeps it as it is."""
    answer = client.get("/api/products", headers={"X-Forwarded-For": "203.0.113.7"})
    assert headers_seen(answer.json())["x-forwarded-for"] == "203.0.113.7"


def test_the_gateway_adds_no_headers_but_forwarding_the_request_id_and_the_trace(running):
    status, _, body = raw_exchange(
        running.gateway, b"GET /api/stock/TF-0001 HTTP/1.1\r\nHost: shop\r\n\r\n"
    )
    assert status == 200
    # traceparent: the gateway's client span, parent of the service's (tracing is on).
    added = {"host", "x-forwarded-for", "x-request-id", "traceparent"}
    assert set(headers_seen(json.loads(body))) == added


# --- request ids ---------------------------------------------------------------------------


def test_a_request_id_is_made_when_absent_and_reaches_the_service_and_the_log(client, running):
    answer = client.get("/api/products", params={"q": "log-me"})
    rid = answer.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", rid)
    assert headers_seen(answer.json())["x-request-id"] == rid
    lines = running.log_lines(f"{rid}")
    assert len(lines) == 1, lines
    assert re.search(r"GET /api/products -> catalog 200 \d+\.\dms", lines[0]), lines[0]


def test_a_request_id_from_the_client_is_kept(client):
    answer = client.post("/api/orders", json={}, headers={"X-Request-ID": "client-id-42"})
    assert answer.headers["x-request-id"] == "client-id-42"
    assert headers_seen(answer.json())["x-request-id"] == "client-id-42"


def test_an_insane_request_id_is_replaced(client):
    answer = client.get("/api/products", headers={"X-Request-ID": "x" * 65})
    rid = answer.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", rid)
    assert headers_seen(answer.json())["x-request-id"] == rid


def test_error_answers_carry_the_request_id_too(client, broken, running):
    for answer in (
        client.get("/nowhere", headers={"X-Request-ID": "rid-404"}),
        client.get("/api/products/slow", headers={"X-Request-ID": "rid-504"}),
        broken.get("/api/payments", headers={"X-Request-ID": "rid-503"}),
    ):
        assert answer.headers["x-request-id"] == f"rid-{answer.status_code}"
    (not_found,) = running.log_lines("rid-404")  # one line per request, also on errors
    assert "GET /nowhere -> - 404" in not_found
    (unreachable,) = running.log_lines("rid-503")
    assert "GET /api/payments -> payments 503" in unreachable
    assert "not reachable" in unreachable
    (timed_out,) = running.log_lines("rid-504")
    assert "GET /api/products/slow -> catalog 504" in timed_out


# --- answers pass through ------------------------------------------------------------------


def test_a_problem_from_a_service_passes_through_unchanged(client):
    answer = client.get("/api/products/problem")
    assert answer.status_code == 409
    assert answer.content == PROBLEM_BODY
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"] == 'Bearer realm="fake"'
    assert answer.headers["location"] == "/api/products/elsewhere"
    assert answer.headers["allow"] == "GET, POST"
    assert answer.headers["content-length"] == str(len(PROBLEM_BODY))
    assert "x-hop" not in answer.headers  # named in the service's Connection header
    assert "keep-alive" not in answer.headers
    assert answer.headers.get_list("date") == [answer.headers["date"]]  # one, not two


def test_a_location_naming_a_service_is_never_passed_on(client):
    answer = client.get("/api/products/redirect")
    assert answer.status_code == 307
    assert "location" not in answer.headers


def test_a_large_body_passes_through(client):
    answer = client.get("/api/products/big")
    assert answer.status_code == 200
    assert answer.headers["content-length"] == str(BIG_SIZE)
    assert answer.content == big_body()


def test_head_keeps_the_length_of_the_body_a_get_would_get(client):
    answer = client.head("/api/products/big")
    assert answer.status_code == 200
    assert answer.headers["content-length"] == str(BIG_SIZE)
    assert answer.content == b""


def test_an_encoded_body_passes_through_still_encoded(running):
    request = (
        b"GET /api/products/gzip HTTP/1.1\r\nHost: shop\r\nAccept-Encoding: gzip\r\n"
        b"Connection: close\r\n\r\n"
    )
    status, headers, body = raw_exchange(running.gateway, request)
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert int(headers["content-length"]) == len(body)
    assert json.loads(gzip.decompress(body)) == GZIPPED


def test_a_204_passes_through_without_a_body(client):
    answer = client.delete("/api/products/empty")
    assert answer.status_code == 204
    assert answer.content == b""


# --- what is not routed --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api",
        "/api/",
        "/api/unknown",
        "/api/productsX",
        "/api/stock",
        "/api/payments/pay_1",
        "/api/notifications/x",
        "/internal",
        "/internal/reservations",
        "/internal/charges/ord_1",
        "/api/products/%2e%2e/%2e%2e/internal/reservations",
        "/api/orders/..%2F..%2Finternal/x",
        "/api/products/",
        "/api/orders/",
        "/api/products/A%2FB",
        "/api/products/TF-0001/x",
    ],
)
def test_other_paths_are_a_404_problem(client, path):
    answer = client.get(path)
    body = assert_problem(answer, "not-found", 404)
    assert body["instance"] == answer.request.url.path


@pytest.mark.parametrize(
    "target",
    [
        b"/api/products/../../internal/reservations",
        b"/api/stock/./../../internal/x",
        b"/api/orders/..",
        b"/api/products/%2e%2e/%2e%2e/internal/x",
    ],
)
def test_dot_segments_are_never_routed(running, target):
    """httpx would resolve them after routing, sending catalog's /internal/... its way."""
    request = b"POST " + target + b" HTTP/1.1\r\nHost: shop\r\nContent-Length: 2\r\n\r\n{}"
    status, headers, body = raw_exchange(running.gateway, request)
    assert status == 404
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["type"] == PROBLEMS + "not-found"


def test_the_gateways_own_paths_answer_get_only(client):
    answer = client.post("/healthz", json={})
    assert_problem(answer, "method-not-allowed", 405)
    assert answer.headers["allow"] == "GET, HEAD"


# --- bodies over the limit -----------------------------------------------------------------


def test_a_declared_length_over_the_limit_is_a_413(own_client):
    answer = own_client.post("/api/orders", content=b"x" * (LIMIT + 1))
    assert_problem(answer, "payload-too-large", 413)
    assert answer.headers["connection"] == "close"


def test_a_chunked_body_over_the_limit_is_a_413(own_client):
    def chunks():
        for _ in range(8):
            yield b"y" * 1024

    answer = own_client.post("/api/orders", content=chunks())
    assert_problem(answer, "payload-too-large", 413)
    assert answer.headers["connection"] == "close"


def test_a_413_reaches_a_client_still_sending(running):
    """The rest of the body is dropped, not left unread, so no reset destroys the 413."""
    body = b"z" * 100_000
    request = (
        b"POST /api/orders HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    status, headers, _ = raw_exchange(running.gateway, request)
    assert status == 413
    assert headers["connection"] == "close"


def test_a_413_comes_before_the_body_is_sent(running):
    """With Expect: 100-continue the client waits: it is refused without sending a byte.

    The client never sends the body, so any answer at all is one given without it; a
    gateway that read the body would have made uvicorn send 100 Continue first."""
    request = (
        b"POST /api/orders HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n"
        b"Content-Length: 50000000\r\nExpect: 100-continue\r\n\r\n"
    )
    status, headers, body = raw_exchange(running.gateway, request)
    assert status == 413  # not 100 Continue: the gateway never asked for the body
    assert headers["connection"] == "close"
    assert json.loads(body)["type"] == PROBLEMS + "payload-too-large"


# --- upstream failures ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_unreachable_service_is_a_503_naming_it(broken, method):
    answer = broken.request(method, "/api/payments", params={"order_id": "ord_1"})
    body = assert_problem(answer, "service-unavailable", 503)
    assert "payments" in body["detail"]
    assert body["service"] == "payments"
    assert body["instance"] == "/api/payments"


def test_the_other_services_still_answer_when_one_is_down(broken):
    assert broken.get("/api/products").json()["service"] == "catalog"


def test_a_slow_service_is_a_504_after_the_call_timeout(client):
    """.../slow answers 200 after 5 s: a 504 means the gateway gave up before that, and
    the time it took, that it waited for the call timeout first (a lower bound, which a
    busy machine cannot break). That the timeout is CALL_TIMEOUT and not ORDER_TIMEOUT
    is the next test's."""
    started = time.monotonic()
    answer = client.get("/api/products/slow")
    elapsed = time.monotonic() - started
    body = assert_problem(answer, "gateway-timeout", 504)
    assert body["service"] == "catalog"
    assert elapsed >= CALL_TIMEOUT


def test_placing_an_order_gets_the_longer_order_timeout(client):
    slower_than_a_call = {"sleep": str(CALL_TIMEOUT + 0.5)}
    assert client.post("/api/orders", params=slower_than_a_call, json={}).status_code == 200
    listing = client.get("/api/orders", params=slower_than_a_call)
    assert_problem(listing, "gateway-timeout", 504)


def test_an_order_placement_that_times_out_says_a_retry_with_its_key_is_safe(client):
    slower_than_an_order = {"sleep": str(ORDER_TIMEOUT + 0.5)}
    answer = client.post(
        "/api/orders", params=slower_than_an_order, json={}, headers={"Idempotency-Key": "k-1"}
    )
    body = assert_problem(answer, "gateway-timeout", 504)
    assert body["service"] == "orders"
    assert "retry with the same Idempotency-Key is safe" in body["detail"], body["detail"]
    other = assert_problem(client.get("/api/products/slow"), "gateway-timeout", 504)
    assert "Idempotency-Key" not in other["detail"]


def test_the_idempotency_key_reaches_the_orders_service_unchanged(client):
    answer = client.post("/api/orders", json={}, headers={"Idempotency-Key": "k-!~2"})
    assert headers_seen(answer.json())["idempotency-key"] == "k-!~2"


def test_a_connection_closed_without_an_answer_is_a_502(client):
    body = assert_problem(client.get("/api/stock/hangup"), "bad-gateway", 502)
    assert body["service"] == "inventory"


# --- health and the document ---------------------------------------------------------------


def test_healthz(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_readyz_is_200_when_every_service_is_ready(client):
    answer = client.get("/readyz")
    assert answer.status_code == 200
    health = answer.json()
    assert health["status"] == "ok"
    assert health["checks"] == {name: "ok" for name in SERVICES}
    assert health["instance"], "the gateway names itself (the launcher checked it)"


def test_readyz_is_503_naming_the_services_that_are_not_ready(broken):
    answer = broken.get("/readyz")
    assert answer.status_code == 503
    health = answer.json()
    assert health["status"] == "unavailable"
    assert health["checks"]["payments"] == "not reachable"
    assert health["checks"]["notifications"] == "/readyz answered 503"
    for name in ("catalog", "inventory", "orders"):
        assert health["checks"][name] == "ok"


def test_openapi_json_is_the_committed_document(client):
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == openapi.load()


# --- the pieces, in process ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/products", "catalog"),
        ("/api/products/TF-0001", "catalog"),
        ("/api/stock/TF-0001", "inventory"),
        ("/api/orders", "orders"),
        ("/api/orders/ord_1", "orders"),
        ("/api/payments", "payments"),
        ("/api/notifications", "notifications"),
        ("/api/stock", None),
        ("/api/productsX", None),
        ("/internal/stock/TF-0001/reserve", None),
        ("/api/products/./x", None),
        ("/api/orders/../../internal/x", None),
    ],
)
def test_routing_table(path, service):
    assert routes.resolve(routes.MICROSERVICES, "GET", path).upstream == service


@pytest.mark.parametrize(
    ("method", "path", "function", "allowed"),
    [
        ("GET", "/api/products", "catalog-read", ""),
        ("HEAD", "/api/products/TF-0001", "catalog-read", ""),
        ("POST", "/api/products", "admin-writes", ""),
        ("PUT", "/api/products/TF-0001", "admin-writes", ""),
        ("DELETE", "/api/products/TF-0001", None, "GET PUT"),
        ("POST", "/api/stock/TF-0001", "admin-writes", ""),
        ("POST", "/api/orders", "place-order", ""),
        ("PUT", "/api/orders", None, "GET POST"),
        ("GET", "/api/orders/ord_1", "order-read", ""),
        ("GET", "/api/nothing", None, ""),
        ("POST", "/internal/anything", None, ""),
    ],
)
def test_functions_routing_table(method, path, function, allowed):
    resolved = routes.resolve(routes.FUNCTIONS, method, path)
    assert resolved.upstream == function
    assert sorted(resolved.allowed) == allowed.split()


def _count_calls(method: str) -> int:
    """Forward one call to a service that refuses every connection; count the attempts."""
    attempts = []

    class Refusing(http_pool.Pool):
        async def _connect(self, origin):
            attempts.append(origin)
            raise http_pool.ConnectFailed("refused")

    async def run() -> None:
        call = upstream.Call(
            service="orders",
            method=method,
            url=httpx.URL("http://orders/api/orders"),
            headers=[],
            body=b"{}",
            timeout=1.0,
        )
        with pytest.raises(failures.UpstreamFailure) as failure:
            await upstream.send(Refusing(), call)
        assert failure.value.problem.status == 503

    asyncio.run(run())
    return len(attempts)


@pytest.mark.parametrize(("method", "attempts"), [("GET", 2), ("POST", 1), ("PUT", 1)])
def test_only_a_get_is_tried_again_after_a_refused_connection(method, attempts):
    assert _count_calls(method) == attempts


# --- readiness checks, on an in-process transport -------------------------------------------


def test_a_service_whose_readyz_hangs_is_not_ready_once_the_check_times_out():
    """The hanging service never answers: the check's own timeout is the only way out."""
    never = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        await never.wait()
        raise AssertionError("never set")

    async def run() -> str:
        async with httpx.AsyncClient(transport=httpx.MockTransport(hang)) as client:
            return await health.check(client, "http://catalog", 0.05, "rid")

    assert asyncio.run(run()) == "no answer within 0.05s"


def test_readiness_asks_every_service_at_the_same_time():
    """Each fake /readyz answers only once every service has been asked: asked one after
    the other, the first would wait for the others and time out."""
    asked: set[str] = set()
    all_asked = asyncio.Event()

    async def readyz(request: httpx.Request) -> httpx.Response:
        asked.add(request.url.host)
        if len(asked) == len(SERVICES):
            all_asked.set()
        await all_asked.wait()
        return httpx.Response(200, json={"status": "ok"})

    async def run() -> Health:
        urls = {name: f"http://{name}" for name in SERVICES}
        async with httpx.AsyncClient(transport=httpx.MockTransport(readyz)) as client:
            return await health.readiness(client, urls, 10.0, "rid")

    ready = asyncio.run(run())
    assert ready.status == "ok"
    assert ready.checks == {name: "ok" for name in SERVICES}
