"""The storefront page and its files (shop/web/storefront.py), as the monolith sends them.

A hook before routing rather than a route: `/` is the page only for a browser's GET, and
for everything else it must stay unrouted (404 problem+json, as on the other stages).
"""

from __future__ import annotations

from flask import Flask, Response, request

from monolith.flask_web import problem_response
from shop.problems import Problem
from shop.web.storefront import ALLOW, Storefront


def register(app: Flask) -> None:
    """Serve the storefront from `app`; call it after the request-head check is hooked."""
    front = Storefront(stage="monolith")

    def serve_storefront() -> Response | None:
        found = front.answer(request.method, request.path, request.headers.get("Accept"))
        if found is None:
            return None  # routed as before
        if isinstance(found, Problem):
            return problem_response(found, {"Allow": ALLOW})
        return Response(found.body, 200, found.headers, content_type=found.content_type)

    app.before_request(serve_storefront)
