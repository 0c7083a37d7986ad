"""The committed OpenAPI document is valid 3.1 and is what the schemas generate."""

import json

from openapi_spec_validator import validate

from shop.openapi import DOCUMENT, build, render


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
