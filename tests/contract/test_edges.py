"""The edges of HTTP that every stage answers the same way (README "Edges").

Request lines and header blocks over the stated limits, trailing slashes, HEAD,
OPTIONS, control characters in a path, repeated query parameters, and the paths
written into the log. These requests are outside the OpenAPI document, so they
go through the raw httpx client (`.http`) or a raw socket.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.contract.helpers import assert_problem, stock_is
from tests.support.client import ShopClient, new_email
from tests.support.raw_http import http_exchange
from tests.support.waiting import eventually

LINE_LIMIT = 8190  # bytes in the request line
FIELD_LIMIT = 8190  # bytes in one header field line, CRLF included
HEADERS_LIMIT = 32 * 1024  # bytes in all header field lines together
MAX_FIELDS = 100


@pytest.fixture
def sender(shop) -> Iterator[ShopClient]:
    """A client of its own: a server may close the connection after refusing a request."""
    client = ShopClient(shop.base_url, shop.admin_token)
    yield client
    client.close()


def order_body(sku: str, email: str) -> dict:
    return {"email": email, "payment_token": "tok_visa", "lines": [{"sku": sku, "quantity": 1}]}


def assert_no_order(shop, sku: str, email: str) -> None:
    assert shop.orders_of(email) == []
    stock_is(shop, sku, 5, 0, 0)


def raw_request(shop, request: bytes) -> tuple[int, dict[str, str], bytes]:
    url = urlsplit(shop.base_url)
    with socket.create_connection((url.hostname, url.port), timeout=20) as sock:
        status, headers, body = http_exchange(sock, request)
    return int(status.split()[1]), headers, body


def assert_raw_problem(status: int, headers: dict[str, str], body: bytes, slug: str, code: int):
    assert status == code, (status, body[:300])
    assert headers["content-type"].split(";")[0] == "application/problem+json", headers
    assert f"/problems/{slug}".encode() in body, body[:300]


# --- header limits: 431 headers-too-large -------------------------------------------------------


def test_headers_within_the_limits_are_served(sender):
    # 3 fields of 8000 bytes: each under the field limit, together under the total.
    headers = {f"X-Pad-{i}": "p" * 7980 for i in range(3)}
    assert sender.http.get("/api/products/TF-0001", headers=headers).status_code == 200


def test_a_header_field_over_the_limit_is_431_and_writes_nothing(shop, sender):
    sku, email = shop.new_product(stock=5), new_email()
    headers = {"X-Pad": "p" * FIELD_LIMIT}
    answer = sender.http.post("/api/orders", json=order_body(sku, email), headers=headers)
    sender.close()
    assert_problem(answer, "headers-too-large")
    assert_no_order(shop, sku, email)


def test_headers_over_the_total_limit_are_431_and_write_nothing(shop, sender):
    sku, email = shop.new_product(stock=5), new_email()
    headers = {f"X-Pad-{i}": "p" * 7000 for i in range(5)}  # 35 KB, each field under its limit
    answer = sender.http.post("/api/orders", json=order_body(sku, email), headers=headers)
    sender.close()
    assert_problem(answer, "headers-too-large")
    assert_no_order(shop, sku, email)


def test_too_many_header_fields_are_431(sender):
    headers = {f"X-Field-{i}": "1" for i in range(MAX_FIELDS + 1)}
    answer = sender.http.get("/api/products/TF-0001", headers=headers)
    sender.close()
    assert_problem(answer, "headers-too-large")


def test_a_one_megabyte_header_is_431(shop):
    request = (
        b"GET /api/products/TF-0001 HTTP/1.1\r\nHost: shop\r\nX-Pad: "
        + b"p" * (1024 * 1024)
        + b"\r\n\r\n"
    )
    assert_raw_problem(*raw_request(shop, request), "headers-too-large", 431)


# --- request line limit: 414 uri-too-long ---------------------------------------------------


def test_a_request_line_within_the_limit_is_served(sender):
    query = "x" * (LINE_LIMIT - 200)  # an unknown parameter: ignored
    assert sender.http.get(f"/api/products?pad={query}").status_code == 200


def test_a_request_line_just_over_the_limit_is_414(sender):
    answer = sender.http.get("/api/products/" + "A" * LINE_LIMIT)
    sender.close()
    assert_problem(answer, "uri-too-long")


def test_a_long_query_is_414_and_writes_nothing(shop, sender):
    sku, email = shop.new_product(stock=5), new_email()
    answer = sender.http.post(f"/api/orders?pad={'x' * LINE_LIMIT}", json=order_body(sku, email))
    sender.close()
    assert_problem(answer, "uri-too-long")
    assert_no_order(shop, sku, email)


@pytest.mark.parametrize("size", [70 * 1024, 1024 * 1024], ids=["70KiB", "1MiB"])
def test_a_very_long_request_line_is_414(shop, size):
    request = b"GET /api/products/" + b"A" * size + b" HTTP/1.1\r\nHost: shop\r\n\r\n"
    assert_raw_problem(*raw_request(shop, request), "uri-too-long", 414)


# --- trailing slashes: 404, never a redirect -----------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/products/", "/api/orders/", "/api/stock/", "/api/products/TF-0001/"]
)
def test_a_trailing_slash_is_404_without_a_location(shop, path):
    answer = shop.http.get(path)
    assert_problem(answer, "not-found")
    assert "location" not in answer.headers


def test_an_order_posted_to_a_trailing_slash_is_404_and_writes_nothing(shop):
    sku, email = shop.new_product(stock=5), new_email()
    answer = shop.http.post("/api/orders/", json=order_body(sku, email))
    assert_problem(answer, "not-found")
    assert "location" not in answer.headers
    assert_no_order(shop, sku, email)


# --- HEAD = GET without a body -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/products", "/api/products/TF-0001", "/api/stock/TF-0001", "/healthz"]
)
def test_head_is_get_without_a_body(shop, path):
    got = shop.http.get(path)
    head = shop.http.head(path)
    assert (head.status_code, got.status_code) == (200, 200), head.headers
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


def test_head_of_an_unknown_product_is_404(shop):
    head = shop.http.head("/api/products/TF-9999")
    assert head.status_code == 404
    assert head.content == b""


# --- OPTIONS and Allow: 405 problem+json naming the path's methods -------------------------------


def allow(answer) -> set[str]:
    return {m.strip() for m in answer.headers.get("allow", "").split(",") if m.strip()}


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/products", {"GET", "HEAD", "POST"}),
        ("/api/products/TF-0001", {"GET", "HEAD", "PUT"}),
        ("/api/stock/TF-0001", {"GET", "HEAD", "POST"}),
        ("/api/orders", {"GET", "HEAD", "POST"}),
        ("/api/orders/ord_x", {"GET", "HEAD"}),
        ("/api/payments", {"GET", "HEAD"}),
        ("/healthz", {"GET", "HEAD"}),
    ],
)
@pytest.mark.parametrize("method", ["OPTIONS", "DELETE", "PATCH"])
def test_a_method_the_path_does_not_take_is_405_naming_the_same_methods(
    shop, method, path, methods
):
    answer = shop.http.request(method, path, headers=shop.admin)
    assert_problem(answer, "method-not-allowed")
    assert allow(answer) == methods


def test_options_of_an_unknown_path_is_404(shop):
    assert_problem(shop.http.options("/api/nothing-here"), "not-found")


# --- control characters in a path: never another product's path --------------------------------


@pytest.mark.parametrize("suffix", ["%0A", "%0D", "%09", "%0D%0A"], ids=["lf", "cr", "tab", "crlf"])
def test_a_control_character_in_a_sku_path_changes_nothing(shop, suffix):
    sku = shop.new_product(stock=5)
    before = shop.get(f"/api/products/{sku}").json()
    renamed = {"name": "Renamed through a newline", "price_cents": 1}
    answer = shop.http.put(f"/api/products/{sku}{suffix}", json=renamed, headers=shop.admin)
    assert answer.status_code in (404, 422), answer.text
    restocked = shop.http.post(
        f"/api/stock/{sku}{suffix}", json={"quantity": 7}, headers=shop.admin
    )
    assert restocked.status_code in (404, 422), restocked.text
    assert shop.http.get(f"/api/products/{sku}{suffix}").status_code in (404, 422)
    assert shop.get(f"/api/products/{sku}").json() == before
    stock_is(shop, sku, 5, 0, 0)


# --- repeated query parameters: 422 naming the parameter ----------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        ("/api/products", "page=2&page=3", "page"),
        ("/api/products", "per_page=5&per_page=5", "per_page"),
        ("/api/products", "q=oak&q=mug", "q"),
        ("/api/orders", "email=a%40example.com&email=b%40example.com", "email"),
        ("/api/notifications", "email=a%40example.com&email=a%40example.com", "email"),
        ("/api/payments", "order_id=x&order_id=y", "order_id"),
    ],
)
def test_a_repeated_parameter_is_422_naming_it(shop, path, query, name):
    answer = shop.http.get(f"{path}?{query}", headers=shop.admin)
    body = assert_problem(answer, "validation-error")
    assert [name] in [error["loc"] for error in body["errors"]], body
    assert name in body["detail"]


def test_a_repeated_unknown_parameter_is_ignored(shop):
    assert shop.http.get("/api/products?utm=a&utm=b").status_code == 200


# --- the log: one request is one line, whatever its path holds ----------------------------------


def test_a_path_cannot_forge_a_log_line_or_write_a_nul(shop):
    marker = "FORGED-" + new_email().split("@")[0]
    shop.http.get(f"/api/products/X%0A{marker}%0D%0A{marker}%00Y")
    shop.http.get(f"/api/products/{marker}-done")  # written after the one above

    def logged() -> bytes:
        text = shop.log_file.read_bytes()
        assert f"{marker}-done".encode() in text
        return text

    # The monolith writes no line per request (gunicorn's access log is off); the gateway does.
    text = eventually(logged) if shop.stage != "monolith" else shop.log_file.read_bytes()
    assert b"\x00" not in text
    for line in text.decode("utf-8", "replace").splitlines():
        _, _, message = line.partition(" | ")
        assert not message.startswith(marker), line
