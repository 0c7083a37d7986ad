"""How the storefront is served, without a browser: the same page and headers from the
monolith's Flask app and from the gateway (both route tables), `/` negotiated on Accept,
and the page's own files free of the ways markup or script could be smuggled in."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import httpx
import pytest

from gateway import routes
from gateway.app import Gateway
from gateway.settings import GatewaySettings
from monolith.app import create_app
from shop.web.storefront import FILES_DIR, accepts_html

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PROBLEM = "application/problem+json"


class Answer:
    """A status, headers and body, whichever test client got them."""

    def __init__(self, status: int, headers, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0]


def _gateway(table: str) -> Gateway:
    names = routes.upstreams(routes.TABLES[table])
    # Nothing listens on port 9: the storefront must be answered without any upstream.
    upstreams = {name: "http://127.0.0.1:9" for name in names}
    return Gateway(GatewaySettings(route_table=table, upstreams=upstreams))


def _asgi_call(app: Gateway, method: str, path: str, accept: str) -> Answer:
    """One request to the ASGI app in process (no lifespan: nothing is forwarded)."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            return await client.request(method, path, headers={"Accept": accept})

    got = asyncio.run(send())
    return Answer(got.status_code, got.headers, got.content)


@pytest.fixture(scope="module", params=["monolith", "microservices", "functions"])
def served(request, tmp_path_factory) -> Iterator[tuple[str, object]]:
    """(stage, a function making one request) for each stage's public app."""
    stage = request.param
    if stage == "monolith":
        url = f"sqlite:///{tmp_path_factory.mktemp('monolith') / 'shop.sqlite'}"
        client = create_app({"DATABASE_URL": url}).test_client()

        def call(method: str, path: str, accept: str = "*/*") -> Answer:
            got = client.open(path, method=method, headers={"Accept": accept})
            return Answer(got.status_code, got.headers, got.data)

    else:
        app = _gateway(stage)

        def call(method: str, path: str, accept: str = "*/*") -> Answer:
            return _asgi_call(app, method, path, accept)

    yield stage, call


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER, True),
        ("text/html", True),
        ("application/xhtml+xml", True),
        ("TEXT/HTML; charset=utf-8", True),
        ("*/*", False),
        ("", False),
        (None, False),
        ("application/json", False),
        ("text/html;q=0", False),
        ("text/html;q=zero", False),
        ("text/*", False),
    ],
)
def test_only_an_accept_that_names_html_asks_for_the_page(accept, html):
    assert accepts_html(accept) is html


def test_a_browser_gets_the_page_at_root_with_its_security_headers(served):
    _stage, call = served
    answer = call("GET", "/", BROWSER)
    assert answer.status == 200
    assert answer.content_type == "text/html"
    assert answer.body == (FILES_DIR / "index.html").read_bytes()
    csp = answer.headers["content-security-policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["vary"] == "Accept"


@pytest.mark.parametrize(
    ("method", "accept"), [("GET", "*/*"), ("GET", "application/json"), ("POST", BROWSER)]
)
def test_root_is_still_a_404_problem_for_everything_else(served, method, accept):
    _stage, call = served
    answer = call(method, "/", accept)
    assert (answer.status, answer.content_type) == (404, PROBLEM)


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("app.js", "text/javascript"), ("style.css", "text/css"), ("index.html", "text/html")],
)
def test_the_files_are_served_as_they_are(served, name, content_type):
    _stage, call = served
    answer = call("GET", f"/storefront/{name}")
    assert (answer.status, answer.content_type) == (200, content_type)
    assert answer.body == (FILES_DIR / name).read_bytes()
    assert answer.headers["x-content-type-options"] == "nosniff"
    head = call("HEAD", f"/storefront/{name}")
    assert (head.status, head.body) == (200, b"")


def test_the_config_names_the_stage(served):
    stage, call = served
    answer = call("GET", "/storefront/config.json")
    assert (answer.status, answer.content_type) == (200, "application/json")
    assert answer.body == f'{{"stage": "{stage}"}}'.encode()


def test_another_method_on_a_file_is_405_with_allow(served):
    _stage, call = served
    answer = call("PUT", "/storefront/app.js")
    assert (answer.status, answer.content_type) == (405, PROBLEM)
    assert answer.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/storefront/missing.js", 404),
        ("GET", "/storefront/", 404),
        ("GET", "/storefront/../shop/openapi.json", 404),
        ("GET", "/api/nothing-here", 404),
        ("GET", "/api/orders/x/y", 404),
        ("GET", "/index.html", 404),
    ],
)
def test_other_paths_are_answered_as_before(served, method, path, status):
    _stage, call = served
    answer = call(method, path)
    assert (answer.status, answer.content_type) == (status, PROBLEM)


# --- the page's own files -------------------------------------------------------------------

# Ways a value could reach the page as markup or code; the page uses text nodes only.
UNSAFE_SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
    r"setTimeout\(\s*[\"'`]|createContextualFragment|srcdoc"
)


def test_the_script_writes_text_only():
    script = (FILES_DIR / "app.js").read_text()
    assert UNSAFE_SINKS.findall(script) == []


def test_the_page_has_no_inline_script_style_or_handler():
    page = (FILES_DIR / "index.html").read_text()
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts and all(" src=" in tag for tag in scripts)
    assert re.findall(r"<script\b[^>]*>\s*[^<\s]", page) == [], "a script tag with a body"
    assert re.findall(r"\son[a-z]+\s*=", page) == []
    assert re.findall(r"\sstyle\s*=|<style", page) == []
    assert re.findall(r"(?:src|href)=\"(?:https?:)?//", page) == [], "nothing from elsewhere"
