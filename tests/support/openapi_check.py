"""Check a live HTTP response against the committed OpenAPI document."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from shop.openapi import load


@cache
def _document() -> dict[str, Any]:
    return load()


@cache
def _registry() -> Registry:
    resource = Resource.from_contents(_document(), default_specification=DRAFT202012)
    return Registry().with_resource("urn:threefold:openapi", resource)


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    found = []
    for template in _document()["paths"]:
        pattern = re.sub(r"\{[^/]+\}", "[^/]+", template)
        found.append((re.compile(f"^{pattern}$"), template))
    return found


def operation_for(method: str, path: str) -> tuple[str, dict[str, Any]]:
    for pattern, template in _templates():
        if pattern.match(path):
            operations = _document()["paths"][template]
            if method.lower() in operations:
                return template, operations[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def check_response(response: httpx.Response) -> None:
    """The status is documented for the operation, and the body matches its schema."""
    request = response.request
    template, operation = operation_for(request.method, request.url.path)
    status = str(response.status_code)
    documented = operation["responses"]
    assert status in documented, (
        f"{request.method} {template} answered {status}, documented: {sorted(documented)}"
        f"\n{response.text[:500]}"
    )
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    contents = documented[status].get("content", {})
    assert content_type in contents, (
        f"{request.method} {template} {status} sent {content_type!r}, documented: {list(contents)}"
    )
    schema = contents[content_type]["schema"]
    ref = schema["$ref"].replace("#/", "urn:threefold:openapi#/")
    validator = Draft202012Validator({"$ref": ref}, registry=_registry())
    errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
    assert not errors, f"{request.method} {template} {status}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5]
    )
