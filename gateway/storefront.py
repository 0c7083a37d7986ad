"""The storefront page and its files (shop/web/storefront.py), as the gateway sends them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from shop.problems import Problem
from shop.web.asgi import problem_response
from shop.web.storefront import ALLOW, Storefront


def respond(storefront: Storefront, request: Request) -> Response | None:
    """The storefront's answer, or None when the path is routed as before (the API)."""
    path = request.scope["path"]
    found = storefront.answer(request.method, path, request.headers.get("accept"))
    if found is None:
        return None
    if isinstance(found, Problem):
        return problem_response(found, path, {"Allow": ALLOW})
    return Response(found.body, 200, found.headers, media_type=found.content_type)
