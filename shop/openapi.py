"""The OpenAPI 3.1 document of the public API, built from the shared schemas.

Every part comes from what the servers use: bodies and answers from the
pydantic models of `shop.schemas`, query parameters from its query models,
path parameters from the domain's patterns, and the problem types of each
error status from `shop.problems`. `shop/openapi.json` is generated from this
module and committed, so readers and tools have a file; a test fails when the
two drift apart.

    python -m shop.openapi > shop/openapi.json    (or: make openapi)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from shop import schemas
from shop.domain.catalog import SKU_PATTERN
from shop.domain.orders import ORDER_ID_PATTERN
from shop.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES

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

# --- parameters ----------------------------------------------------------------------------


def _schema_of(annotated: Any) -> dict[str, Any]:
    return TypeAdapter(annotated).json_schema()


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """One query parameter per field of the model the servers validate the query with."""
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", []))
    parameters = []
    for name, field in schema["properties"].items():
        field = {k: v for k, v in field.items() if k != "title"}
        description = field.pop("description", "")
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "description": description,
                "schema": field,
            }
        )
    return parameters


def _path(name: str, annotated: Any, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": _schema_of(annotated),
    }


_SKU = _path("sku", schemas.Sku, "the product's sku (another form: 404, or 422 on a write)")
_ORDER_ID = _path("order_id", schemas.OrderId, "the order's id (a value of another form: 404)")
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retry safe: the same key with the same body answers the same "
    "order (no second order, no second charge); the same key with another body is refused "
    "(422, problem type idempotency-key-reused).",
    "schema": _schema_of(schemas.IdempotencyKey),
}

# --- answers -------------------------------------------------------------------------------

_HEADERS = {
    "RequestId": {
        "description": "The request's id, as in the log lines: the client's own X-Request-ID "
        "if it sent a usable one (at most 64 printable characters), else a new one. Stages "
        "with a gateway send it.",
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
    },
    "WwwAuthenticate": {
        "description": "The scheme the admin calls need",
        "required": True,
        "schema": {"type": "string", "const": "Bearer"},
    },
    "Allow": {
        "description": "The methods the path answers",
        "required": True,
        "schema": {"type": "string", "pattern": "^[A-Z]+(, ?[A-Z]+)*$"},
    },
    "ProductLocation": {
        "description": "Where the new product is read",
        "required": True,
        "schema": {"type": "string", "pattern": "^/api/products/" + SKU_PATTERN.lstrip("^")},
    },
    "OrderLocation": {
        "description": "Where the order is read (poll it until its status is final)",
        "required": True,
        "schema": {"type": "string", "pattern": "^/api/orders/" + ORDER_ID_PATTERN.lstrip("^")},
    },
}
_REQUEST_ID = {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}

_STATUS_TEXT = {
    400: "Malformed request (not valid JSON)",
    401: "No bearer token",
    403: "Wrong bearer token",
    404: "Not found",
    405: "Method not allowed on this path (Allow lists the methods it answers)",
    409: "Conflict with the current state",
    413: "Body too large",
    414: "Request line (path and query) too long",
    415: "Not application/json",
    422: "Invalid request",
    431: "Request headers too large",
    502: "An upstream service failed",
    503: "A service is unavailable",
    504: "An upstream service timed out",
}
_STATUS_HEADERS = {
    401: {"WWW-Authenticate": {"$ref": "#/components/headers/WwwAuthenticate"}},
    405: {"Allow": {"$ref": "#/components/headers/Allow"}},
}
_EVERYWHERE = (405, 414, 431)  # any path: a wrong method, an over-long line, huge headers
_UPSTREAM = (502, 503, 504)  # answered by stages with a gateway when an upstream fails
_READ = (422, *_EVERYWHERE, *_UPSTREAM)
_ADMIN_READ = (401, 403, *_READ)
_WRITE = (400, 401, 403, 413, 415, 422, *_EVERYWHERE, *_UPSTREAM)


def _problem_schemas() -> dict[str, Any]:
    """One schema per error status, naming the problem types that status carries."""
    found: dict[int, list[str]] = {}
    for problem in PROBLEM_TYPES.values():
        found.setdefault(problem.status, []).append(problem.uri)
    return {
        f"Problem{status}": {
            "description": f"{_STATUS_TEXT[status]}: RFC 9457 problem details",
            "allOf": [{"$ref": REF.format(model="ProblemOut")}],
            "properties": {"status": {"const": status}, "type": {"enum": sorted(found[status])}},
        }
        for status in sorted(_STATUS_TEXT)
    }


def _answer(model: type, description: str, headers: dict | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _REQUEST_ID | (headers or {}),
        "content": {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}},
    }


def _problems(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {
            "description": _STATUS_TEXT[status],
            "headers": _REQUEST_ID | _STATUS_HEADERS.get(status, {}),
            "content": {
                PROBLEM_CONTENT_TYPE: {"schema": {"$ref": REF.format(model=f"Problem{status}")}}
            },
        }
        for status in sorted(set(statuses))
    }


def _body(model: type) -> dict[str, Any]:
    schema = {"$ref": REF.format(model=model.__name__)}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _link(operation_id: str, **parameters: str) -> dict[str, Any]:
    """A link to an operation, its parameters filled from this answer (runtime expressions)."""
    return {"operationId": operation_id, "parameters": parameters}


_SKU_IN_BODY = "$response.body#/sku"
# Ordering one unit of the product (or stock) just answered: the body's other fields are
# generated, its lines come from the answer.
_ORDER_IT = {
    "operationId": "placeOrder",
    "requestBody": {"lines": [{"sku": _SKU_IN_BODY, "quantity": 1}]},
}
_PRODUCT_LINKS = {
    "GetProduct": _link("getProduct", sku=_SKU_IN_BODY),
    "GetStock": _link("getStock", sku=_SKU_IN_BODY),
    "UpdateProduct": _link("updateProduct", sku=_SKU_IN_BODY),
    "Restock": _link("restock", sku=_SKU_IN_BODY),
    "PlaceOrder": _ORDER_IT,
}
_STOCK_LINKS = {"GetStock": _link("getStock", sku=_SKU_IN_BODY), "PlaceOrder": _ORDER_IT}
_ORDER_LINKS = {
    "GetOrder": _link("getOrder", order_id="$response.body#/id"),
    "ListPayments": _link("listPayments", order_id="$response.body#/id"),
    "ListOrders": _link("listOrders", email="$response.body#/email"),
    "ListNotifications": _link("listNotifications", email="$response.body#/email"),
}


def _with_links(answer: dict[str, Any], links: dict[str, Any]) -> dict[str, Any]:
    return answer | {"links": links}


def _paths() -> dict[str, Any]:
    product = _answer(schemas.ProductOut, "The product")
    stock = _answer(schemas.StockOut, "The stock level")
    order = _answer(schemas.OrderOut, "The order")
    return {
        "/api/products": {
            "get": {
                "operationId": "listProducts",
                "summary": "List products, with paging and text search",
                "tags": ["catalog"],
                "parameters": query_parameters(schemas.ProductQuery),
                "responses": {"200": _answer(schemas.ProductPage, "A page of products")}
                | _problems(*_READ),
            },
            "post": {
                "operationId": "createProduct",
                "summary": "Add a product (admin); its stock starts at zero",
                "tags": ["catalog"],
                "security": _ADMIN,
                "requestBody": _body(schemas.ProductIn),
                "responses": {
                    "201": _with_links(
                        _answer(
                            schemas.ProductOut,
                            "Created",
                            {"Location": {"$ref": "#/components/headers/ProductLocation"}},
                        ),
                        _PRODUCT_LINKS,
                    )
                }
                | _problems(*_WRITE, 409),
            },
        },
        "/api/products/{sku}": {
            "parameters": [_SKU],
            "get": {
                "operationId": "getProduct",
                "summary": "One product",
                "tags": ["catalog"],
                "responses": {"200": _with_links(product, _PRODUCT_LINKS)} | _problems(404, *_READ),
            },
            "put": {
                "operationId": "updateProduct",
                "summary": "Replace a product's fields (admin)",
                "tags": ["catalog"],
                "security": _ADMIN,
                "requestBody": _body(schemas.ProductUpdate),
                "responses": {"200": _with_links(product, _PRODUCT_LINKS)}
                | _problems(*_WRITE, 404),
            },
        },
        "/api/stock/{sku}": {
            "parameters": [_SKU],
            "get": {
                "operationId": "getStock",
                "summary": "Stock of a product: available, reserved and sold units",
                "tags": ["inventory"],
                "responses": {"200": _with_links(stock, _STOCK_LINKS)} | _problems(404, *_READ),
            },
            "post": {
                "operationId": "restock",
                "summary": "Restock (admin): add units to what is available",
                "tags": ["inventory"],
                "security": _ADMIN,
                "requestBody": _body(schemas.RestockIn),
                "responses": {
                    "200": _with_links(
                        _answer(schemas.StockOut, "The new stock level"), _STOCK_LINKS
                    )
                }
                | _problems(*_WRITE, 404),
            },
        },
        "/api/orders": {
            "post": {
                "operationId": "placeOrder",
                "summary": "Place an order: reserve, charge, confirm or reject, notify",
                "description": "Answers 202 with the order. A stage that finishes at once "
                "answers the final status; otherwise poll GET /api/orders/{id}. Send an "
                "Idempotency-Key to retry safely.",
                "tags": ["orders"],
                "parameters": [_IDEMPOTENCY_KEY],
                "requestBody": _body(schemas.OrderIn),
                "responses": {
                    "202": _with_links(
                        _answer(
                            schemas.OrderOut,
                            "Accepted",
                            {"Location": {"$ref": "#/components/headers/OrderLocation"}},
                        ),
                        _ORDER_LINKS,
                    )
                }
                | _problems(400, 413, 415, 422, *_EVERYWHERE, *_UPSTREAM),
            },
            "get": {
                "operationId": "listOrders",
                "summary": "A customer's orders (admin)",
                "tags": ["orders"],
                "security": _ADMIN,
                "parameters": query_parameters(schemas.EmailQuery),
                "responses": {"200": _answer(schemas.OrderList, "Orders, oldest first")}
                | _problems(*_ADMIN_READ),
            },
        },
        "/api/orders/{order_id}": {
            "parameters": [_ORDER_ID],
            "get": {
                "operationId": "getOrder",
                "summary": "One order, by its unguessable id",
                "tags": ["orders"],
                "responses": {"200": _with_links(order, _ORDER_LINKS)} | _problems(404, *_READ),
            },
        },
        "/api/payments": {
            "get": {
                "operationId": "listPayments",
                "summary": "The charges of an order (admin)",
                "tags": ["payments"],
                "security": _ADMIN,
                "parameters": query_parameters(schemas.OrderIdQuery),
                "responses": {"200": _answer(schemas.PaymentList, "Charges")}
                | _problems(*_ADMIN_READ),
            },
        },
        "/api/notifications": {
            "get": {
                "operationId": "listNotifications",
                "summary": "Messages sent to a customer (admin)",
                "tags": ["notifications"],
                "security": _ADMIN,
                "parameters": query_parameters(schemas.EmailQuery),
                "responses": {"200": _answer(schemas.NotificationList, "Messages, oldest first")}
                | _problems(*_ADMIN_READ),
            },
        },
        "/healthz": {
            "get": {
                "operationId": "alive",
                "summary": "The process is alive",
                "tags": ["health"],
                "responses": {"200": _answer(schemas.Health, "Alive")} | _problems(*_EVERYWHERE),
            }
        },
        "/readyz": {
            "get": {
                "operationId": "ready",
                "summary": "The process can serve: its dependencies answer",
                "tags": ["health"],
                "responses": {
                    "200": _answer(schemas.Health, "Ready"),
                    "503": _answer(schemas.Health, "Not ready"),
                }
                | _problems(*_EVERYWHERE),
            }
        },
    }


def build() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(m, "validation") for m in _INPUTS] + [(m, "serialization") for m in _OUTPUTS],
        ref_template=REF,
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "threefold shop",
            "version": "1.0.0",
            "description": "The public API that the monolith, the microservices and the "
            "functions stage all serve. Errors are RFC 9457 problem+json; each error "
            "status lists its problem types. A client may send X-Request-ID (at most 64 "
            "printable characters) to find its request in the logs; stages with a gateway "
            "answer it back.",
        },
        "paths": _paths(),
        "components": {
            "schemas": definitions["$defs"] | _problem_schemas(),
            "headers": _HEADERS,
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
