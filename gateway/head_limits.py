"""The limits every stage puts on a request head (shop/web/request_head.py), checked by
the gateway before anything is read or forwarded: 414 or 431, with Connection: close."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shop.web.request_head import check_request_head


def raw_path(scope: dict[str, Any]) -> bytes:
    """The path as the client sent it (percent-encoded), which is what is forwarded."""
    return scope.get("raw_path") or quote(scope["path"]).encode()


def check_head(scope: dict[str, Any]) -> None:
    """Raise the Problem (414 or 431) for a request line or header fields over the limits."""
    query = scope.get("query_string", b"")
    target_length = len(raw_path(scope)) + (1 + len(query) if query else 0)
    check_request_head(scope["method"], target_length, scope["http_version"], scope["headers"])
