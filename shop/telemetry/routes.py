"""The route template of a public path, for span names and metric labels where no
framework router knows it (the gateway, the functions): /api/orders/abc -> /api/orders/{id}.

The templates are the public API's own (shop/openapi.json), so every stage names a
route the same way; the probes, the document and the storefront are named as well.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from shop import openapi

OWN_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json", "/metrics", "/"})
STOREFRONT_FILES = "/storefront/"


@functools.cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    templates = []
    for template in openapi.load()["paths"]:
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        templates.append((re.compile(pattern), template))
    return templates


def route_template(path: str) -> str | None:
    """The template `path` matches, or None (a path no route answers: keep it out of labels)."""
    if path in OWN_PATHS:
        return path
    if path.startswith(STOREFRONT_FILES):
        return STOREFRONT_FILES + "{file}"
    for pattern, template in _templates():
        if pattern.fullmatch(path):
            return template
    return None


def public_route(scope: dict[str, Any]) -> str | None:
    """`route_of` for shop.telemetry.asgi.instrument: the template of the request's path."""
    return route_template(scope["path"])
