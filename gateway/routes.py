"""Which upstream answers which public request. Nothing else is routed.

A route table per stage: the microservices stage routes by path to the service
of the context (the service itself answers 405 for a method it does not take);
the functions stage routes by method and path to one small function each, so
the table also says which methods a path takes (405 with Allow otherwise).

Only the public API of shop/openapi.json is listed, so private endpoints
(/internal/...) can never be reached through the gateway. Paths with `.` or
`..` segments are refused as well: httpx resolves them when it builds the
upstream URL, so /api/products/../../internal/x would be routed to catalog and
then sent as /internal/x.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    method: str | None  # None: any method
    path: str  # exact, or when it ends with "/" that and one segment more (/api/products/{sku})
    upstream: str

    def matches_path(self, path: str) -> bool:
        """One segment, not any rest: every public path with a parameter ends in it, so
        /api/orders/ or /api/products/X/y are nobody's (404 on every stage)."""
        if not self.path.endswith("/"):
            return path == self.path
        rest = path.removeprefix(self.path)
        return rest != path and rest != "" and "/" not in rest


MICROSERVICES = [
    Route(None, "/api/products", "catalog"),
    Route(None, "/api/products/", "catalog"),
    Route(None, "/api/stock/", "inventory"),
    Route(None, "/api/orders", "orders"),
    Route(None, "/api/orders/", "orders"),
    Route(None, "/api/payments", "payments"),
    Route(None, "/api/notifications", "notifications"),
]

FUNCTIONS = [
    Route("GET", "/api/products", "catalog-read"),
    Route("GET", "/api/products/", "catalog-read"),
    Route("POST", "/api/products", "admin-writes"),
    Route("PUT", "/api/products/", "admin-writes"),
    Route("GET", "/api/stock/", "stock-read"),
    Route("POST", "/api/stock/", "admin-writes"),
    Route("POST", "/api/orders", "place-order"),
    Route("GET", "/api/orders", "order-read"),
    Route("GET", "/api/orders/", "order-read"),
    Route("GET", "/api/payments", "payment-read"),
    Route("GET", "/api/notifications", "notification-read"),
]

TABLES = {"microservices": MICROSERVICES, "functions": FUNCTIONS}
PRIVATE = "/internal"


@dataclass(frozen=True)
class Resolved:
    upstream: str | None  # who answers, or None
    allowed: frozenset[str]  # when no one answers this method: the methods that path takes


def resolve(table: list[Route], method: str, path: str) -> Resolved:
    """The upstream for `method path` (percent-decoded, as the upstream will see it)."""
    if path == PRIVATE or path.startswith(PRIVATE + "/"):
        return Resolved(None, frozenset())
    if any(segment in (".", "..") for segment in path.split("/")):
        return Resolved(None, frozenset())
    candidates = [route for route in table if route.matches_path(path)]
    method = "GET" if method == "HEAD" else method
    for route in candidates:
        if route.method in (None, method):
            return Resolved(route.upstream, frozenset())
    return Resolved(None, frozenset(r.method for r in candidates if r.method))


def upstreams(table: list[Route]) -> list[str]:
    return sorted({route.upstream for route in table})
