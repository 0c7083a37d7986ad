"""Refused orders: every bad request to POST /api/orders is a problem, and writes nothing.

Each case starts from an order that would be confirmed (1 unit of a fresh product with 5
units, a fresh email) and breaks one thing. After the answer, the customer has no order
and no message, and the product's stock is untouched.
"""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.contract.helpers import assert_problem
from tests.support.client import ShopClient, new_email
from tests.support.raw_http import http_exchange

STOCK = 5
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Target:
    sku: str
    email: str

    def body(self, **changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "email": self.email,
            "payment_token": "tok_visa",
            "lines": [{"sku": self.sku, "quantity": 1}],
        }
        return body | changes

    def with_line(self, **changes: Any) -> dict[str, Any]:
        return self.body(lines=[{"sku": self.sku, "quantity": 1} | changes])

    def without(self, *fields: str) -> dict[str, Any]:
        return {k: v for k, v in self.body().items() if k not in fields}


@pytest.fixture
def target(shop) -> Target:
    return Target(shop.new_product(stock=STOCK), new_email())


@pytest.fixture
def sender(shop) -> Iterator[ShopClient]:
    """A client of its own for the refused request, closed as soon as it has the answer.

    A connection the server gives up on (a body it did not read, see
    test_a_413_tells_whether_the_connection_goes_on) then never reaches the shared pool.
    """
    client = ShopClient(shop.base_url, shop.admin_token)
    yield client
    client.close()


def assert_nothing_written(shop, target: Target) -> None:
    assert shop.orders_of(target.email) == []
    assert shop.notifications_of(target.email) == []
    level = shop.stock(target.sku)
    assert (level["available"], level["reserved"], level["sold"]) == (STOCK, 0, 0)


Case = Callable[[Target], dict[str, Any]]  # the keyword arguments of the request


def as_json(make: Callable[[Target], Any]) -> Case:
    return lambda t: {"json": make(t)}


def raw(make: Callable[[Target], bytes], content_type: str | None = "application/json") -> Case:
    headers = {"Content-Type": content_type} if content_type else {}
    return lambda t: {"content": make(t), "headers": headers}


def encoded(t: Target, **changes: Any) -> bytes:
    return json.dumps(t.body(**changes)).encode()


def duplicated(t: Target, key: str, first: Any) -> bytes:
    """The order's JSON with `key` given twice: first `first`, then the valid value."""
    return encoded(t).replace(b"{", b"{" + json.dumps({key: first})[1:-1].encode() + b", ", 1)


# (id, request, problem slug)
CASES: list[tuple[str, Case, str]] = [
    # not JSON at all
    ("truncated-json", raw(lambda t: encoded(t)[:-5]), "malformed-request"),
    ("empty-body", raw(lambda t: b""), "malformed-request"),
    ("not-json", raw(lambda t: b"email=ada"), "malformed-request"),
    ("single-quotes", raw(lambda t: encoded(t).replace(b'"', b"'")), "malformed-request"),
    ("trailing-garbage", raw(lambda t: encoded(t) + b"}"), "malformed-request"),
    ("invalid-utf8", raw(lambda t: b'{"email": "\xff\xfe"}'), "malformed-request"),
    # JSON is UTF-8 (RFC 8259): no other encoding, no byte order mark
    ("utf16-bom", raw(lambda t: encoded(t).decode().encode("utf-16")), "malformed-request"),
    ("utf16-le", raw(lambda t: encoded(t).decode().encode("utf-16-le")), "malformed-request"),
    ("utf16-be", raw(lambda t: encoded(t).decode().encode("utf-16-be")), "malformed-request"),
    ("utf32", raw(lambda t: encoded(t).decode().encode("utf-32")), "malformed-request"),
    ("utf8-bom", raw(lambda t: b"\xef\xbb\xbf" + encoded(t)), "malformed-request"),
    # a key given twice: which one counts would differ between parsers, so neither does
    ("duplicate-lines", raw(lambda t: duplicated(t, "lines", [])), "malformed-request"),
    (
        "duplicate-token",
        raw(lambda t: duplicated(t, "payment_token", "tok_decline")),
        "malformed-request",
    ),
    (
        "duplicate-in-a-line",
        raw(
            lambda t: encoded(t, lines="L").replace(
                b'"L"', f'[{{"sku": "{t.sku}", "quantity": 1, "quantity": 2}}]'.encode()
            )
        ),
        "malformed-request",
    ),
    # not declared as JSON
    ("text-plain", raw(encoded, "text/plain"), "unsupported-media-type"),
    ("form-encoded", lambda t: {"data": {"email": t.email}}, "unsupported-media-type"),
    ("no-content-type", raw(encoded, None), "unsupported-media-type"),
    ("xml", raw(encoded, "application/xml"), "unsupported-media-type"),
    # JSON, but not an order
    ("empty-object", as_json(lambda t: {}), "validation-error"),
    ("array", as_json(lambda t: [t.body()]), "validation-error"),
    ("null", raw(lambda t: b"null"), "validation-error"),
    ("string", as_json(lambda t: "order"), "validation-error"),
    ("missing-email", as_json(lambda t: t.without("email")), "validation-error"),
    ("missing-token", as_json(lambda t: t.without("payment_token")), "validation-error"),
    ("missing-lines", as_json(lambda t: t.without("lines")), "validation-error"),
    ("extra-field", as_json(lambda t: t.body(coupon="FREE")), "validation-error"),
    ("extra-line-field", as_json(lambda t: t.with_line(unit_price_cents=1)), "validation-error"),
    # lines
    ("lines-empty", as_json(lambda t: t.body(lines=[])), "validation-error"),
    ("lines-not-a-list", as_json(lambda t: t.body(lines=t.sku)), "validation-error"),
    ("line-not-an-object", as_json(lambda t: t.body(lines=[t.sku])), "validation-error"),
    (
        "21-lines",
        as_json(lambda t: t.body(lines=[{"sku": t.sku, "quantity": 1}] * 21)),
        "validation-error",
    ),
    ("quantity-0", as_json(lambda t: t.with_line(quantity=0)), "validation-error"),
    ("quantity-minus-1", as_json(lambda t: t.with_line(quantity=-1)), "validation-error"),
    ("quantity-1.5", as_json(lambda t: t.with_line(quantity=1.5)), "validation-error"),
    ("quantity-string", as_json(lambda t: t.with_line(quantity="2")), "validation-error"),
    ("quantity-true", as_json(lambda t: t.with_line(quantity=True)), "validation-error"),
    ("quantity-null", as_json(lambda t: t.with_line(quantity=None)), "validation-error"),
    ("quantity-10e9", as_json(lambda t: t.with_line(quantity=10**9)), "validation-error"),
    ("quantity-huge", as_json(lambda t: t.with_line(quantity=10**30)), "validation-error"),
    ("quantity-101", as_json(lambda t: t.with_line(quantity=101)), "validation-error"),
    ("quantity-missing", as_json(lambda t: t.body(lines=[{"sku": t.sku}])), "validation-error"),
    (
        "merged-quantity-over-100",
        as_json(lambda t: t.body(lines=[{"sku": t.sku, "quantity": 60}] * 2)),
        "invalid-order",
    ),
    ("sku-lower-case", as_json(lambda t: t.with_line(sku=t.sku.lower())), "validation-error"),
    ("sku-too-short", as_json(lambda t: t.with_line(sku="X")), "validation-error"),
    ("sku-too-long", as_json(lambda t: t.with_line(sku="A" * 33)), "validation-error"),
    ("sku-empty", as_json(lambda t: t.with_line(sku="")), "validation-error"),
    ("sku-with-space", as_json(lambda t: t.with_line(sku="TF 0001")), "validation-error"),
    ("sku-number", as_json(lambda t: t.with_line(sku=1)), "validation-error"),
    ("sku-missing", as_json(lambda t: t.body(lines=[{"quantity": 1}])), "validation-error"),
    # no value is trimmed: whitespace or a control character at either end is refused
    ("sku-padded", as_json(lambda t: t.with_line(sku=f" {t.sku} ")), "validation-error"),
    ("sku-trailing-tab", as_json(lambda t: t.with_line(sku=f"{t.sku}\t")), "validation-error"),
    ("email-trailing-newline", as_json(lambda t: t.body(email=t.email + "\n")), "validation-error"),
    ("email-leading-space", as_json(lambda t: t.body(email=" " + t.email)), "validation-error"),
    ("email-vertical-tab", as_json(lambda t: t.body(email=t.email + "\v")), "validation-error"),
    ("token-padded", as_json(lambda t: t.body(payment_token=" tok_visa ")), "validation-error"),
    (
        "token-trailing-newline",
        as_json(lambda t: t.body(payment_token="tok_visa\n")),
        "validation-error",
    ),
    # email
    ("email-no-at", as_json(lambda t: t.body(email="ada.example.com")), "validation-error"),
    ("email-no-domain-dot", as_json(lambda t: t.body(email="ada@example")), "validation-error"),
    ("email-two-ats", as_json(lambda t: t.body(email="ada@b@example.com")), "validation-error"),
    ("email-space", as_json(lambda t: t.body(email="a da@example.com")), "validation-error"),
    ("email-empty", as_json(lambda t: t.body(email="")), "validation-error"),
    (
        "email-too-long",
        as_json(lambda t: t.body(email="a" * 64 + "@" + "b" * 186 + ".com")),
        "validation-error",
    ),
    ("email-number", as_json(lambda t: t.body(email=42)), "validation-error"),
    (
        "email-lone-surrogate",
        raw(lambda t: encoded(t, email="PLACEHOLDER").replace(b"PLACEHOLDER", b"a\\ud800@b.com")),
        "validation-error",
    ),
    # payment token
    ("token-no-prefix", as_json(lambda t: t.body(payment_token="visa")), "validation-error"),
    ("token-prefix-only", as_json(lambda t: t.body(payment_token="tok_")), "validation-error"),
    ("token-space", as_json(lambda t: t.body(payment_token="tok_a b")), "validation-error"),
    ("token-symbol", as_json(lambda t: t.body(payment_token="tok_a;b")), "validation-error"),
    (
        "token-too-long",
        as_json(lambda t: t.body(payment_token="tok_" + "a" * 65)),
        "validation-error",
    ),
    (
        "token-card-number",
        as_json(lambda t: t.body(payment_token=4242424242424242)),
        "validation-error",
    ),
    ("token-null", as_json(lambda t: t.body(payment_token=None)), "validation-error"),
    # too big
    (
        "oversized-padding",
        raw(lambda t: encoded(t) + b" " * (MAX_BODY + 1)),
        "payload-too-large",
    ),
    (
        "oversized-field",
        as_json(lambda t: t.body(note="x" * (MAX_BODY + 1))),
        "payload-too-large",
    ),
]


@pytest.mark.parametrize(("make", "slug"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_order_is_refused_and_writes_nothing(shop, sender, target, make, slug):
    answer = sender.post("/api/orders", **make(target))
    sender.close()  # at once: a server lingering on a refused body is not kept waiting
    body = assert_problem(answer, slug)
    if slug == "validation-error":
        assert body["errors"], body
    assert_nothing_written(shop, target)


def test_a_whole_quantity_written_with_a_fraction_is_that_number(shop, target):
    """1.0 is the JSON number 1: an integer as the OpenAPI document's JSON Schema means it."""
    answer = shop.post("/api/orders", json=target.with_line(quantity=1.0))
    assert answer.status_code == 202, answer.text
    order = shop.wait_final(answer.json()["id"])
    assert (order["status"], order["lines"][0]["quantity"]) == ("confirmed", 1)


def test_unknown_sku_is_named_and_writes_nothing(shop, target):
    unknown = "NOPE-" + secrets.token_hex(4).upper()
    lines = [{"sku": target.sku, "quantity": 1}, {"sku": unknown, "quantity": 1}]
    answer = shop.post("/api/orders", json=target.body(lines=lines))
    body = assert_problem(answer, "unknown-sku")
    assert body["skus"] == [unknown]
    assert unknown in body["detail"]
    assert_nothing_written(shop, target)


def test_every_unknown_sku_is_named(shop, target):
    unknown = sorted("NOPE-" + secrets.token_hex(4).upper() for _ in range(2))
    lines = [{"sku": sku, "quantity": 1} for sku in unknown]
    body = assert_problem(shop.post("/api/orders", json=target.body(lines=lines)), "unknown-sku")
    assert sorted(body["skus"]) == unknown
    assert_nothing_written(shop, target)


def test_mixed_currencies_are_refused(shop, target):
    dollars = f"USD-{secrets.token_hex(4).upper()}"
    created = shop.post(
        "/api/products",
        json={"sku": dollars, "name": "Dollar item", "price_cents": 100, "currency": "USD"},
        headers=shop.admin,
    )
    assert created.status_code == 201
    assert shop.post(f"/api/stock/{dollars}", json={"quantity": 5}, headers=shop.admin).is_success
    lines = [{"sku": target.sku, "quantity": 1}, {"sku": dollars, "quantity": 1}]
    answer = shop.post("/api/orders", json=target.body(lines=lines))
    assert_problem(answer, "invalid-order")
    assert_nothing_written(shop, target)
    assert shop.stock(dollars)["available"] == 5


def test_deeply_nested_json_is_refused_and_writes_nothing(shop, target):
    depth = 20_000  # well under the body limit, far over any sane nesting
    content = encoded(target)[:-1] + b', "x": ' + b"[" * depth + b"]" * depth + b"}"
    assert len(content) < MAX_BODY
    answer = shop.post("/api/orders", content=content, headers={"Content-Type": "application/json"})
    # Refusing the nesting while parsing (400) or the parsed shape (422) are both fine.
    assert_problem(answer, "malformed-request" if answer.status_code == 400 else "validation-error")
    assert_nothing_written(shop, target)


def test_oversized_chunked_body_is_413(shop, sender, target):
    def chunks():
        yield encoded(target)
        for _ in range(20):
            yield b" " * 4096

    answer = sender.post(
        "/api/orders", content=chunks(), headers={"Content-Type": "application/json"}
    )
    sender.close()
    assert_problem(answer, "payload-too-large")
    assert_nothing_written(shop, target)


def test_a_413_tells_whether_the_connection_goes_on(shop):
    """After a 413, either the answer says Connection: close, or the connection still serves."""
    url = urlsplit(shop.base_url)
    body = b'{"note": "' + b"x" * 100_000 + b'"}'
    oversized = (
        b"POST /api/orders HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        status, headers, _ = http_exchange(sock, oversized)
        assert status.split()[1] == "413", status
        if headers.get("connection", "").lower() == "close":
            return
        next_status, _, _ = http_exchange(sock, b"GET /healthz HTTP/1.1\r\nHost: shop\r\n\r\n")
        assert next_status.split()[1] == "200", next_status


def test_json_with_charset_is_accepted(shop, target):
    answer = shop.post(
        "/api/orders",
        content=encoded(target),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert answer.status_code == 202, answer.text
    assert shop.wait_final(answer.json()["id"])["status"] == "confirmed"


# --- NUL characters ------------------------------------------------------------------------------
# A NUL can reach the app through JSON ("\u0000") or a URL (%00). No stage may answer 500.


@pytest.mark.parametrize(
    "path", ["/api/products/A%00B", "/api/stock/A%00B"], ids=["product", "stock"]
)
def test_nul_in_a_sku_path_is_404(shop, request, path):
    assert_problem(shop.get(path), "not-found")


def test_nul_in_a_search_finds_nothing(shop, request):
    answer = shop.get("/api/products", params={"q": "oak\x00mug"})
    if answer.status_code == 422:
        assert_problem(answer, "validation-error")
    else:
        assert answer.status_code == 200
        assert answer.json()["total"] == 0


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/orders", "email"),
        ("/api/notifications", "email"),
        ("/api/payments", "order_id"),
    ],
    ids=["orders", "notifications", "payments"],
)
def test_nul_in_an_admin_query_finds_nothing(shop, request, path, param):
    answer = shop.get(path, params={param: "ada\x00@example.com"}, headers=shop.admin)
    if answer.status_code == 422:
        assert_problem(answer, "validation-error")
    else:
        assert answer.status_code == 200
        assert answer.json()["items"] == []


def test_nul_in_the_email_is_refused_and_writes_nothing(shop, target):
    answer = shop.post("/api/orders", json=target.body(email="ada\x00@example.com"))
    assert_problem(answer, "validation-error")
    assert_nothing_written(shop, target)


def test_nul_in_a_product_name_is_not_a_500(shop, request):
    sku = "N-" + secrets.token_hex(5).upper()
    body = {"sku": sku, "name": "Oak\x00Mug", "price_cents": 100}
    answer = shop.post("/api/products", json=body, headers=shop.admin)
    if answer.status_code == 422:
        assert_problem(answer, "validation-error")
        assert_problem(shop.get(f"/api/products/{sku}"), "not-found")
    else:
        assert answer.status_code == 201
        assert shop.get(f"/api/products/{sku}").json()["name"] == "Oak\x00Mug"


# --- routes and methods outside the contract ------------------------------------------------------
# These paths and methods are not in the OpenAPI document, so they go through shop.http
# (the raw httpx client) instead of the validating helpers.


@pytest.mark.parametrize(
    "path", ["/api/nothing-here", "/api", "/", "/api/orders/x/y", "/api/products/TF-0001/x"]
)
def test_unknown_route_is_404_problem(shop, path):
    answer = shop.http.get(path)
    assert_problem(answer, "not-found")


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/api/products/TF-0001"), ("PUT", "/api/orders"), ("PATCH", "/api/stock/TF-0001")],
)
def test_wrong_method_is_405_problem(shop, method, path):
    answer = shop.http.request(method, path, headers=shop.admin)
    assert_problem(answer, "method-not-allowed")


def test_wrong_method_names_the_allowed_ones(shop):
    answer = shop.http.delete("/api/products/TF-0001", headers=shop.admin)
    assert answer.status_code == 405
    allowed = {m.strip() for m in answer.headers.get("allow", "").split(",")}
    assert {"GET", "PUT"} <= allowed
