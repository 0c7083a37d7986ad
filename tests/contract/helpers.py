"""Small assertions the contract modules share: problem+json answers and eventual side effects."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

from shop.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES
from tests.support.waiting import eventually

T = TypeVar("T")

# A stage that finishes orders asynchronously may record a side effect (a notification, a
# stock movement) a moment after the order became final: checks of those poll this long.
SETTLE_SECONDS = 10.0


def assert_problem(response: httpx.Response, slug: str) -> dict[str, Any]:
    """The answer is an RFC 9457 problem of type `slug`, with its status in code and body."""
    problem = PROBLEM_TYPES[slug]
    assert response.status_code == problem.status, (
        f"expected {problem.status} {slug}, got {response.status_code}: {response.text[:500]}"
    )
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    assert content_type == PROBLEM_CONTENT_TYPE, f"content-type {content_type!r}"
    body = response.json()
    assert body["type"] == problem.uri, body
    assert body["status"] == problem.status, body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    return body


def stock_is(shop, sku: str, available: int, reserved: int, sold: int) -> dict[str, int]:
    """Wait until the stock of `sku` reads exactly available/reserved/sold; return it."""

    def check() -> dict[str, int]:
        level = shop.stock(sku)
        got = (level["available"], level["reserved"], level["sold"])
        assert got == (available, reserved, sold), f"{sku}: {got} != {(available, reserved, sold)}"
        return level

    return eventually(check)


def notifications_for(shop, email: str, count: int = 1) -> list[dict[str, Any]]:
    """Wait until `email` has at least `count` notifications, then give all of them."""

    def check() -> list[dict[str, Any]]:
        found = shop.notifications_of(email)
        assert len(found) >= count, f"{email}: {len(found)} notification(s), waiting for {count}"
        return found

    return eventually(check)
