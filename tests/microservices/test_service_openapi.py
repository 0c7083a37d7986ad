"""Each service's own OpenAPI document and /docs, checked against the public contract.

Every service serves its document at /openapi.json and Swagger UI at /docs (the gateway
routes neither: only the public API). An operation is public unless it carries the
`internal` tag, and exactly the /internal paths carry it. The public operations of each
service must be the ones shop/openapi.json lists for the same paths, method for method,
and the five services together must serve every path of that document.

The apps are made by their factories and asked in-process; their lifespan (database,
peers) does not run, since neither document needs it.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from microservices.common.settings import ServiceSettings
from shop import openapi

SERVICES = ("catalog", "inventory", "orders", "payments", "notifications")
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
INTERNAL = "internal"


def _methods(path_item: dict) -> set[str]:
    return {key for key in path_item if key in HTTP_METHODS}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict]]:
    """Per service: its /openapi.json document, and the status and type of its /docs."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # build_service configures logging
    data = tmp_path_factory.mktemp("service-openapi")
    try:
        yield {name: asyncio.run(_ask(name, data)) for name in SERVICES}
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


async def _ask(name: str, data: Path) -> dict:
    module = importlib.import_module(f"microservices.{name}.app")
    settings = ServiceSettings(database_url=f"sqlite:///{data / name}.sqlite")
    app = module.create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        document = await client.get("/openapi.json")
        docs = await client.get("/docs")
    assert document.status_code == 200, document.text
    return {
        "document": document.json(),
        "docs": (docs.status_code, docs.headers["content-type"], docs.text),
    }


@pytest.fixture(scope="module")
def contract() -> dict:
    return json.loads(openapi.DOCUMENT.read_text())


def _public(document: dict) -> dict[str, set[str]]:
    """Path -> the methods of its operations that are not tagged internal."""
    public: dict[str, set[str]] = {}
    for path, item in document["paths"].items():
        methods = {m for m in _methods(item) if INTERNAL not in item[m].get("tags", [])}
        if methods:
            public[path] = methods
    return public


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_serves_docs_for_its_document(served: dict, service: str) -> None:
    status, content_type, page = served[service]["docs"]
    assert status == 200
    assert content_type.startswith("text/html")
    assert "/openapi.json" in page  # Swagger UI is pointed at the service's own document
    assert served[service]["document"]["info"]["title"] == f"threefold {service}"


@pytest.mark.parametrize("service", SERVICES)
def test_exactly_the_internal_paths_are_tagged_internal(served: dict, service: str) -> None:
    for path, item in served[service]["document"]["paths"].items():
        for method in _methods(item):
            tags = item[method].get("tags", [])
            assert tags, f"{method.upper()} {path} has no tag"
            assert (INTERNAL in tags) == path.startswith("/internal/"), (method, path, tags)


@pytest.mark.parametrize("service", SERVICES)
def test_public_operations_are_those_of_shop_openapi(
    served: dict, contract: dict, service: str
) -> None:
    public = _public(served[service]["document"])
    assert public, f"{service} serves no public path"
    for path, methods in public.items():
        assert path in contract["paths"], f"{service} serves {path}, not in shop/openapi.json"
        assert methods == _methods(contract["paths"][path]), (service, path)


def test_the_services_together_serve_every_public_path(served: dict, contract: dict) -> None:
    served_paths = {path for s in SERVICES for path in _public(served[s]["document"])}
    assert served_paths == set(contract["paths"])
