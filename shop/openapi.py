"""The OpenAPI 3.1 document of the public API, built from the shared schemas.

`shop/openapi.json` is generated from this module and committed, so readers
and tools have a file; a test fails when the two drift apart.

    python -m shop.openapi > shop/openapi.json    (or: make openapi)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from shop import schemas
from shop.problems import PROBLEM_CONTENT_TYPE

DOCUMENT = Path(__file__).with_name("openapi.json")
REF = "#/components/schemas/{model}"

_INPUTS = [schemas.ProductIn, schemas.ProductUpdate, schemas.RestockIn, schemas.OrderIn]
_OUTPUTS = [
    schemas.ProductOut,
    schemas.ProductPage,
    schemas.StockOut,
    schemas.OrderOut,
    schemas.OrderList,
    schemas.PaymentOut,
    schemas.PaymentList,
    schemas.NotificationOut,
    schemas.NotificationList,
    schemas.Health,
    schemas.ProblemOut,
]
_ADMIN = [{"bearerAuth": []}]


def _ref(model: type) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model: type, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _problems(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "Malformed JSON",
        401: "No bearer token",
        403: "Wrong bearer token",
        404: "Not found",
        409: "Conflict",
        413: "Body too large",
        415: "Not application/json",
        422: "Invalid request",
        502: "Upstream failed",
        503: "Unavailable",
        504: "Upstream timed out",
    }
    problem = {"schema": _ref(schemas.ProblemOut)}
    return {
        str(s): {"description": reasons[s], "content": {PROBLEM_CONTENT_TYPE: problem}}
        for s in statuses
    }


def _body(model: type) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}


def _query(name: str, schema: dict[str, Any], required: bool = False, text: str = "") -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": text,
    }


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


_SKU = _path("sku", {"type": "string"})
_EMAIL = _query("email", {"type": "string", "maxLength": 254}, True, "the customer's email")
_WRITE = (400, 401, 403, 413, 415, 422)
_UPSTREAM = (502, 503, 504)  # answered by stages with a gateway when an upstream fails


def build() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(m, "validation") for m in _INPUTS] + [(m, "serialization") for m in _OUTPUTS],
        ref_template=REF,
    )
    paths: dict[str, Any] = {
        "/api/products": {
            "get": {
                "summary": "List products, with paging and text search",
                "tags": ["catalog"],
                "parameters": [
                    _query(
                        "q",
                        {"type": "string", "maxLength": schemas.MAX_QUERY_LENGTH},
                        False,
                        "words that must all occur in sku, name or description",
                    ),
                    _query("page", {"type": "integer", "minimum": 1, "default": 1}),
                    _query(
                        "per_page",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": schemas.MAX_PER_PAGE,
                            "default": 20,
                        },
                    ),
                ],
                "responses": {"200": _json(schemas.ProductPage, "A page of products")}
                | _problems(422, *_UPSTREAM),
            },
            "post": {
                "summary": "Add a product (admin); its stock starts at zero",
                "tags": ["catalog"],
                "security": _ADMIN,
                "requestBody": _body(schemas.ProductIn),
                "responses": {"201": _json(schemas.ProductOut, "Created")}
                | _problems(*_WRITE, 409, *_UPSTREAM),
            },
        },
        "/api/products/{sku}": {
            "parameters": [_SKU],
            "get": {
                "summary": "One product",
                "tags": ["catalog"],
                "responses": {"200": _json(schemas.ProductOut, "The product")}
                | _problems(404, *_UPSTREAM),
            },
            "put": {
                "summary": "Replace a product's fields (admin)",
                "tags": ["catalog"],
                "security": _ADMIN,
                "requestBody": _body(schemas.ProductUpdate),
                "responses": {"200": _json(schemas.ProductOut, "Updated")}
                | _problems(*_WRITE, 404, *_UPSTREAM),
            },
        },
        "/api/stock/{sku}": {
            "parameters": [_SKU],
            "get": {
                "summary": "Stock of a product: available, reserved and sold units",
                "tags": ["inventory"],
                "responses": {"200": _json(schemas.StockOut, "The stock level")}
                | _problems(404, *_UPSTREAM),
            },
            "post": {
                "summary": "Restock (admin): add units to what is available",
                "tags": ["inventory"],
                "security": _ADMIN,
                "requestBody": _body(schemas.RestockIn),
                "responses": {"200": _json(schemas.StockOut, "The new stock level")}
                | _problems(*_WRITE, 404, *_UPSTREAM),
            },
        },
        "/api/orders": {
            "post": {
                "summary": "Place an order: reserve, charge, confirm or reject, notify",
                "description": "Answers 202 with the order. A stage that finishes at once "
                "answers the final status; otherwise poll GET /api/orders/{id}.",
                "tags": ["orders"],
                "requestBody": _body(schemas.OrderIn),
                "responses": {
                    "202": _json(schemas.OrderOut, "Accepted")
                    | {"headers": {"Location": {"schema": {"type": "string"}}}}
                }
                | _problems(400, 413, 415, 422, *_UPSTREAM),
            },
            "get": {
                "summary": "A customer's orders (admin)",
                "tags": ["orders"],
                "security": _ADMIN,
                "parameters": [_EMAIL],
                "responses": {"200": _json(schemas.OrderList, "Orders, oldest first")}
                | _problems(401, 403, 422, *_UPSTREAM),
            },
        },
        "/api/orders/{order_id}": {
            "parameters": [_path("order_id", {"type": "string"})],
            "get": {
                "summary": "One order, by its unguessable id",
                "tags": ["orders"],
                "responses": {"200": _json(schemas.OrderOut, "The order")}
                | _problems(404, *_UPSTREAM),
            },
        },
        "/api/payments": {
            "get": {
                "summary": "The charges of an order (admin)",
                "tags": ["payments"],
                "security": _ADMIN,
                "parameters": [_query("order_id", {"type": "string"}, True)],
                "responses": {"200": _json(schemas.PaymentList, "Charges")}
                | _problems(401, 403, 422, *_UPSTREAM),
            },
        },
        "/api/notifications": {
            "get": {
                "summary": "Messages sent to a customer (admin)",
                "tags": ["notifications"],
                "security": _ADMIN,
                "parameters": [_EMAIL],
                "responses": {"200": _json(schemas.NotificationList, "Messages, oldest first")}
                | _problems(401, 403, 422, *_UPSTREAM),
            },
        },
        "/healthz": {
            "get": {
                "summary": "The process is alive",
                "tags": ["health"],
                "responses": {"200": _json(schemas.Health, "Alive")},
            }
        },
        "/readyz": {
            "get": {
                "summary": "The process can serve: its dependencies answer",
                "tags": ["health"],
                "responses": {
                    "200": _json(schemas.Health, "Ready"),
                    "503": _json(schemas.Health, "Not ready"),
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "threefold shop",
            "version": "1.0.0",
            "description": "The public API that the monolith, the microservices and the "
            "functions stage all serve. Errors are RFC 9457 problem+json.",
        },
        "paths": paths,
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def load() -> dict[str, Any]:
    """The committed document, as every stage serves it and the tests check against."""
    return json.loads(DOCUMENT.read_text())


if __name__ == "__main__":
    print(render(), end="")
