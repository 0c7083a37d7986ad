"""The storefront: the shop's web page, the same files on every stage's public port.

The page itself is static (shop/storefront/: index.html, app.js, style.css); it reads
the public API (/api/...) from the browser, like any other client. The monolith's Flask
app and the gateway (microservices, functions) both serve it through this module, so
the three stages serve byte for byte the same page, its headers included.

What it answers, and why `/` is negotiated:

- `GET /` from a browser (an Accept header that names text/html): the page.
  To any other client `/` stays what it always was, no part of the API: 404
  problem+json (the contract suite checks that answer with a plain HTTP client).
- `GET /storefront/<file>`: the page's script, style sheet and a copy of the page;
  `/storefront/config.json` says which stage answered (the page shows it in the footer),
  kept off /api so the public API (shop/openapi.json) stays as it is.
- Another method on one of those files: 405 (Allow: GET, HEAD). Every other path
  is not the storefront's: the caller routes it as before.

Every answer carries a Content-Security-Policy that allows scripts, styles, images and
API calls from the page's own origin only (no inline script, no CDN), and nosniff.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from shop.problems import Problem

FILES_DIR = Path(__file__).resolve().parent.parent / "storefront"
PREFIX = "/storefront/"
ALLOW = "GET, HEAD"
_READ_METHODS = ("GET", "HEAD")

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # No validators are kept, so a browser asks again each time: a changed page is seen
    # at once, and the files are a few kilobytes.
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class Page:
    """One file of the storefront, ready to send: body, content type, headers."""

    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=lambda: dict(SECURITY_HEADERS))


def accepts_html(accept: str | None) -> bool:
    """Whether the Accept header names HTML itself, as a browser's navigation does;
    `*/*` (curl, httpx, fetch()) does not count."""
    for media_range in (accept or "").split(","):
        kind, *params = (part.strip() for part in media_range.split(";"))
        if kind.lower() in ("text/html", "application/xhtml+xml"):
            quality = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
            try:
                if float(quality) > 0:
                    return True
            except ValueError:
                continue
    return False


class Storefront:
    """The storefront's files for one stage, read once when the app is made."""

    def __init__(self, stage: str, files_dir: Path = FILES_DIR) -> None:
        self.stage = stage
        self.files: dict[str, Page] = {}
        for path in sorted(files_dir.iterdir()):
            content_type = _CONTENT_TYPES.get(path.suffix)
            if content_type and path.is_file():
                self.files[PREFIX + path.name] = Page(path.read_bytes(), content_type)
        config = json.dumps({"stage": stage}).encode()
        self.files[PREFIX + "config.json"] = Page(config, _CONTENT_TYPES[".json"])
        index = self.files[PREFIX + "index.html"]
        # `/` is negotiated on Accept, so a cache must keep the page and the 404 apart.
        self.index = Page(index.body, index.content_type, index.headers | {"Vary": "Accept"})

    def answer(self, method: str, path: str, accept: str | None) -> Page | Problem | None:
        """The page or file for this request, a 405 problem (send it with Allow: ALLOW),
        or None when the request is not the storefront's (route it as before)."""
        if path == "/":
            wanted = method in _READ_METHODS and accepts_html(accept)
            return self.index if wanted else None
        page = self.files.get(path)
        if page is None:
            return None
        if method not in _READ_METHODS:
            return Problem("method-not-allowed", f"{path} answers GET only")
        return page
