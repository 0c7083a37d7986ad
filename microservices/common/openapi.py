"""A service's own OpenAPI document: FastAPI's, plus what FastAPI cannot see.

The services read bodies and queries with the shared, framework-free parsing
(`deps.json_body`, `deps.query`) and answer every error as problem+json, so FastAPI
alone would document no request body, no query parameter and a 422 of its own shape.
So the document FastAPI makes is completed: each operation gets the body and query
its `json_body` and `query` dependencies read, every operation names its 4XX and 5XX
answers as problems, and the models those name are added to its schemas.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shop.openapi import query_parameters
from shop.problems import PROBLEM_CONTENT_TYPE
from shop.schemas import ProblemOut

REF = "#/components/schemas/{model}"


def _problem(description: str) -> dict[str, Any]:
    schema = {"$ref": REF.format(model=ProblemOut.__name__)}
    return {"description": description, "content": {PROBLEM_CONTENT_TYPE: {"schema": schema}}}


# Added to every route; with a 4XX of its own FastAPI adds no 422 of its shape.
PROBLEMS: dict[int | str, dict[str, Any]] = {
    "4XX": _problem("The request was refused: a problem (RFC 9457) says why"),
    "5XX": _problem("The service or one of its peers failed: a problem (RFC 9457)"),
}


def _read_by(dependant: Dependant, kind: str) -> type[BaseModel] | None:
    """The model a `json_body` or `query` dependency of the route reads, if any."""
    for dependency in dependant.dependencies:
        model = getattr(dependency.call, kind, None) or _read_by(dependency, kind)
        if model is not None:
            return model
    return None


def _add_input(operation: dict[str, Any], route: APIRoute) -> type[BaseModel] | None:
    """Name the route's body and query in its operation; answers the body's model."""
    params = _read_by(route.dependant, "query_model")
    if params is not None:
        operation.setdefault("parameters", []).extend(query_parameters(params))
    body = _read_by(route.dependant, "body_model")
    if body is not None:
        schema = {"$ref": REF.format(model=body.__name__)}
        content = {"application/json": {"schema": schema}}
        operation["requestBody"] = {"required": True, "content": content}
    return body


def install(app: FastAPI, routes: list[APIRoute]) -> None:
    """Serve the completed document at the app's openapi_url (made once, when first asked)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes)
            models: list[tuple[type[BaseModel], str]] = [(ProblemOut, "serialization")]
            for route in routes:
                for method in route.methods & {"GET", "PUT", "POST"}:
                    operation = document["paths"][route.path_format][method.lower()]
                    body = _add_input(operation, route)
                    if body is not None:
                        models.append((body, "validation"))
            _, definitions = models_json_schema(models, ref_template=REF)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in definitions.get("$defs", {}).items():
                schemas.setdefault(name, schema)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi
