"""Which service answers which public path. Nothing else is routed.

Only the public API of shop/openapi.json is listed, so the services' private
endpoints (/internal/...) can never be reached through the gateway. Paths with
`.` or `..` segments are refused as well: httpx resolves them when it builds the
upstream URL, so /api/products/../../internal/x would be routed to catalog and
then sent as /internal/x.
"""

from __future__ import annotations

# The path itself, exactly.
EXACT = {
    "/api/products": "catalog",
    "/api/orders": "orders",
    "/api/payments": "payments",
    "/api/notifications": "notifications",
}
# Anything below the prefix (/api/products/{sku}, /api/stock/{sku}, /api/orders/{id}).
UNDER = {
    "/api/products/": "catalog",
    "/api/stock/": "inventory",
    "/api/orders/": "orders",
}
PRIVATE = "/internal"


def service_for(path: str) -> str | None:
    """The service that owns `path` (percent-decoded, as the service will see it), or None."""
    if path == PRIVATE or path.startswith(PRIVATE + "/"):
        return None
    if any(segment in (".", "..") for segment in path.split("/")):
        return None
    if path in EXACT:
        return EXACT[path]
    for prefix, service in UNDER.items():
        if path.startswith(prefix):
            return service
    return None
