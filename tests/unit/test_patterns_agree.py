"""The server checks values with pydantic (its Rust regex engine); the OpenAPI document's
clients (and the fuzzer) read the same patterns as ECMA-262 regexes. Both must accept exactly
the same characters, or a value the document allows is refused (a U+0085 in an email was)."""

from __future__ import annotations

from typing import Annotated

import jsonschema_rs
import pytest
from pydantic import Field, TypeAdapter, ValidationError

from shop.domain.catalog import NAME_PATTERN
from shop.domain.orders import EMAIL_PATTERN

# Every character of the Basic Multilingual Plane but the surrogates.
CHARACTERS = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]


@pytest.mark.parametrize(
    ("pattern", "around"),
    [
        (EMAIL_PATTERN, ("a{}b@example.com", "{}@example.com", "ab@exa{}mple.com")),
        (NAME_PATTERN, ("{}", "a{}b", "{}b", "a{}")),
    ],
    ids=["email", "name"],
)
def test_python_and_ecma_patterns_accept_the_same_characters(pattern, around) -> None:
    ecma = jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
    server = TypeAdapter(Annotated[str, Field(pattern=pattern)])

    def accepted(value: str) -> bool:
        try:
            server.validate_python(value)
        except ValidationError:
            return False
        return True

    differ = [
        (template, f"U+{ord(c):04X}")
        for template in around
        for c in CHARACTERS
        if accepted(template.format(c)) != ecma.is_valid(template.format(c))
    ]
    assert differ == []
