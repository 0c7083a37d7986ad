"""The committed OpenAPI document is valid 3.1, is what the schemas generate, and agrees
with the models, patterns and problem types the servers use."""

import json
import re

import jsonschema_rs
import pytest
from openapi_spec_validator import validate
from pydantic import ValidationError

from shop import schemas
from shop.domain.catalog import is_valid_sku
from shop.domain.money import CURRENCIES
from shop.domain.orders import RejectReason, is_order_id, new_order_id
from shop.openapi import DOCUMENT, build, render
from shop.problems import PROBLEM_TYPES


def test_document_is_valid_openapi_3_1():
    document = json.loads(DOCUMENT.read_text())
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_committed_document_is_up_to_date():
    assert DOCUMENT.read_text() == render(), "run `make openapi` and commit shop/openapi.json"


def test_every_error_answer_is_problem_json():
    for path, operations in build()["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for status, answer in operation["responses"].items():
                if int(status) >= 400 and path not in ("/readyz",):
                    assert list(answer["content"]) == ["application/problem+json"], (
                        f"{method} {path} {status}"
                    )


# --- the document agrees with the models the servers validate with ---------------------------

DOC = build()
METHODS = ("get", "put", "post", "delete", "patch")


def _operations():
    for path, item in DOC["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _parameter(path: str, method: str, name: str) -> dict:
    item = DOC["paths"][path]
    for parameter in item.get("parameters", []) + item[method].get("parameters", []):
        if parameter["name"] == name:
            return parameter
    raise AssertionError(f"{method} {path} has no parameter {name}")


def _accepts(schema: dict, value) -> bool:
    """As JSON Schema means it (ECMA-262 patterns: `$` is the end, not before a last newline)."""
    return jsonschema_rs.validator_for(schema).is_valid(value)


def _model_accepts(model, name: str, value: str) -> bool:
    try:
        model.model_validate({name: value})
    except ValidationError:
        return False
    return True


QUERY_SAMPLES = {
    ("/api/orders", "email", schemas.EmailQuery): ["ab", "abc", "a" * 254, "a" * 255, "a\tb"],
    ("/api/notifications", "email", schemas.EmailQuery): ["ab", "abc", "a" * 255],
    ("/api/payments", "order_id", schemas.OrderIdQuery): ["", "x", "x" * 64, "x" * 65, "a\nb"],
    ("/api/products", "q", schemas.ProductQuery): ["oak", "o" * 100, "o" * 101, "oak\x00"],
}


@pytest.mark.parametrize(
    ("path", "name", "model", "value"),
    [(*key, value) for key, values in QUERY_SAMPLES.items() for value in values],
)
def test_query_parameters_accept_what_the_servers_accept(path, name, model, value):
    parameter = _parameter(path, "get", name)
    assert _accepts(parameter["schema"], value) == _model_accepts(model, name, value)


@pytest.mark.parametrize("page", [0, 1, 1_000_000, 1_000_001])
def test_page_limits_are_documented(page):
    parameter = _parameter("/api/products", "get", "page")
    assert _accepts(parameter["schema"], page) == _model_accepts(schemas.ProductQuery, "page", page)


@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/products/{sku}", "get"), ("/api/products/{sku}", "put"), ("/api/stock/{sku}", "post")],
)
@pytest.mark.parametrize("sku", ["TF-0001", "tf-0001", "AB", "A" * 33, "TF-0001\n", "-AB"])
def test_sku_path_parameter_has_the_domain_pattern(path, method, sku):
    schema = _parameter(path, method, "sku")["schema"]
    assert _accepts(schema, sku) == is_valid_sku(sku)


@pytest.mark.parametrize(
    "order_id",
    [new_order_id(), "ord_short", "x" + new_order_id()[1:]],
    ids=["new", "short", "wrong-prefix"],  # fixed ids: the same collection in every worker
)
def test_order_id_path_parameter_has_the_domain_pattern(order_id):
    schema = _parameter("/api/orders/{order_id}", "get", "order_id")["schema"]
    assert _accepts(schema, order_id) == is_order_id(order_id)


def test_every_operation_has_a_unique_operation_id():
    ids = [operation.get("operationId") for _, _, operation in _operations()]
    assert None not in ids
    assert len(ids) == len(set(ids))


def test_every_link_names_an_operation_and_its_parameters():
    by_id = {op["operationId"]: (path, method) for path, method, op in _operations()}
    links = 0
    for _, _, operation in _operations():
        for answer in operation["responses"].values():
            for link in answer.get("links", {}).values():
                links += 1
                path, method = by_id[link["operationId"]]
                for name in link.get("parameters", {}):
                    _parameter(path, method, name)
    assert links >= 10


def test_order_creation_links_to_reading_the_order():
    links = DOC["paths"]["/api/orders"]["post"]["responses"]["202"]["links"]
    assert links["GetOrder"] == {
        "operationId": "getOrder",
        "parameters": {"order_id": "$response.body#/id"},
    }
    created = DOC["paths"]["/api/products"]["post"]["responses"]["201"]["links"]
    assert created["GetProduct"]["operationId"] == "getProduct"


def _header_schema(answer: dict, name: str) -> dict:
    header = answer["headers"][name]
    if "$ref" in header:
        header = DOC["components"]["headers"][header["$ref"].rsplit("/", 1)[1]]
    assert header["required"] is True, name
    return header["schema"]


def test_documented_answer_headers():
    for path, method, operation in _operations():
        responses = operation["responses"]
        if "401" in responses:
            assert _header_schema(responses["401"], "WWW-Authenticate") == {
                "type": "string",
                "const": "Bearer",
            }, f"{method} {path}"
        assert "Allow" in responses["405"]["headers"], f"{method} {path}"
        for status in responses:
            assert "X-Request-ID" in responses[status]["headers"], f"{method} {path} {status}"
    product = _header_schema(DOC["paths"]["/api/products"]["post"]["responses"]["201"], "Location")
    assert re.search(product["pattern"], "/api/products/TF-0001")
    order = _header_schema(DOC["paths"]["/api/orders"]["post"]["responses"]["202"], "Location")
    assert re.search(order["pattern"], f"/api/orders/{new_order_id()}")


def test_every_operation_documents_wrong_method_long_lines_and_large_headers():
    for path, method, operation in _operations():
        for status in ("405", "414", "431"):
            assert status in operation["responses"], f"{method} {path} {status}"
        if method == "get" and path.startswith("/api/"):
            assert "422" in operation["responses"], f"{method} {path}"


def _problem_types(status: str) -> list[str]:
    name = DOC["paths"]["/api/products"]["post"]["responses"][status]["content"][
        "application/problem+json"
    ]["schema"]["$ref"].rsplit("/", 1)[1]
    return DOC["components"]["schemas"][name]["properties"]["type"]["enum"]


def test_each_error_status_lists_its_problem_types():
    for problem in PROBLEM_TYPES.values():
        name = f"Problem{problem.status}"
        if name in DOC["components"]["schemas"]:
            assert problem.uri in DOC["components"]["schemas"][name]["properties"]["type"]["enum"]
    assert PROBLEM_TYPES["uri-too-long"].uri in _problem_types("414")
    assert PROBLEM_TYPES["headers-too-large"].uri in _problem_types("431")
    assert PROBLEM_TYPES["idempotency-key-reused"].uri in _problem_types("422")


def test_idempotency_key_is_documented_on_order_creation():
    parameter = _parameter("/api/orders", "post", "Idempotency-Key")
    assert parameter["in"] == "header"
    assert parameter["required"] is False
    schema = parameter["schema"]
    assert _accepts(schema, "k") and _accepts(schema, "~" * 255)
    assert not _accepts(schema, "") and not _accepts(schema, "a" * 256)
    assert not _accepts(schema, "a b") and not _accepts(schema, "é")


def test_answers_are_tight():
    defs = DOC["components"]["schemas"]
    assert set(defs["ProductOut"]["properties"]["currency"]["enum"]) == CURRENCIES
    assert defs["ProductOut"]["properties"]["price_cents"]["minimum"] == 1
    reason = defs["OrderOut"]["properties"]["reason"]["anyOf"][0]
    assert set(reason["enum"]) == {r.value for r in RejectReason}
    assert defs["OrderOut"]["properties"]["id"]["pattern"]
    assert defs["PaymentOut"]["properties"]["id"]["pattern"]
    assert defs["NotificationOut"]["properties"]["id"]["pattern"]
    for field in ("available", "reserved", "sold"):
        assert defs["StockOut"]["properties"][field]["minimum"] == 0
    assert defs["ProductPage"]["properties"]["total"]["minimum"] == 0


@pytest.mark.parametrize("value", [5, 5.0, 5.5, "5", True, None, 0, 1_000_000, 1_000_001])
def test_body_integers_accept_what_the_document_calls_integers(value):
    schema = DOC["components"]["schemas"]["RestockIn"]
    try:
        schemas.RestockIn.model_validate({"quantity": value})
        accepted = True
    except ValidationError:
        accepted = False
    assert _accepts(schema, {"quantity": value}) == accepted
