"""Each service's own OpenAPI document and /docs, checked against the public contract.

Every service serves its document at /openapi.json and Swagger UI at /docs (the gateway
routes neither: only the public API). An operation is public unless it carries the
`internal` tag, and exactly the /internal paths carry it. The public operations of each
service must be the ones shop/openapi.json lists for the same paths, method for method,
and the five services together must serve every path of that document.

The services read bodies and queries with the shared parsing, not FastAPI's, so their
documents are completed by microservices/common/openapi.py: checked here to name the
same request body and query parameters as the contract, and to refer only to schemas
they define.

The apps are made by their factories and asked in-process; their lifespan (database,
peers) does not run, since neither document needs it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from shop import openapi
from tests.microservices.in_process import ask, kept_logging, service_app

SERVICES = ("catalog", "inventory", "orders", "payments", "notifications")
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
INTERNAL = "internal"


def _methods(path_item: dict) -> set[str]:
    return {key for key in path_item if key in HTTP_METHODS}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Per service: its /openapi.json document, and the status, type and page of /docs."""
    data = tmp_path_factory.mktemp("service-openapi")
    with kept_logging():
        return {name: _ask(service_app(name, data)) for name in SERVICES}


def _ask(app: FastAPI) -> dict:
    document, docs = ask(app, "GET", "/openapi.json"), ask(app, "GET", "/docs")
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


def _query_names(operation: dict) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}


@pytest.mark.parametrize("service", SERVICES)
def test_public_operations_read_the_body_and_query_of_the_contract(
    served: dict, contract: dict, service: str
) -> None:
    document = served[service]["document"]
    for path, methods in _public(document).items():
        for method in methods:
            mine, theirs = document["paths"][path][method], contract["paths"][path][method]
            assert mine.get("requestBody") == theirs.get("requestBody"), (method, path)
            assert _query_names(mine) == _query_names(theirs), (method, path)


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


@pytest.mark.parametrize("service", SERVICES)
def test_every_reference_names_a_schema_of_the_document(served: dict, service: str) -> None:
    document = served[service]["document"]
    defined = set(document["components"]["schemas"])
    refs = set(_refs(document))
    assert "#/components/schemas/ProblemOut" in refs  # the errors are documented as problems
    for ref in refs:
        assert ref.removeprefix("#/components/schemas/") in defined, ref
