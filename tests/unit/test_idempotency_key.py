"""The Idempotency-Key header's syntax, the request fingerprint, and the retention setting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shop.problems import Problem
from shop.schemas import OrderIn
from shop.settings import ShopSettings
from shop.usecases.idempotency import fingerprint, parse_key


def test_no_header_is_no_key():
    assert parse_key([]) is None


@pytest.mark.parametrize("key", ["a", "!~", "x" * 255, "550e8400-e29b-41d4-a716-446655440000"])
def test_visible_ascii_up_to_255_characters_is_a_key(key):
    assert parse_key([key]) == key


def test_a_repeated_header_is_one_key_joined_by_commas():
    assert parse_key(["a", "b"]) == "a,b"  # what gunicorn hands the monolith


@pytest.mark.parametrize("key", ["", "x" * 256, "a b", "tab\there", "del\x7f", "caf\xe9"])
def test_anything_else_is_a_422_naming_the_header(key):
    with pytest.raises(Problem) as refused:
        parse_key([key])
    problem = refused.value.to_dict()
    assert problem["status"] == 422 and problem["type"].endswith("/validation-error")
    assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert "Idempotency-Key" in problem["detail"]


def _order(raw: dict) -> OrderIn:
    return OrderIn.model_validate(raw)


def test_the_fingerprint_is_of_the_validated_request_not_its_spelling():
    one = {
        "email": "a@example.com",
        "payment_token": "tok_visa",
        "lines": [{"sku": "S-1", "quantity": 2}],
    }
    same = {
        "lines": [{"quantity": 2, "sku": "S-1"}],
        "payment_token": "tok_visa",
        "email": "a@example.com",
    }
    other = {**one, "lines": [{"sku": "S-1", "quantity": 3}]}
    assert fingerprint(_order(one)) == fingerprint(_order(same))
    assert fingerprint(_order(one)) != fingerprint(_order(other))
    assert len(fingerprint(_order(one))) == 64


def test_the_retention_is_a_day_by_default_and_a_setting(monkeypatch):
    assert ShopSettings().idempotency_key_ttl == 24 * 3600
    monkeypatch.setenv("IDEMPOTENCY_KEY_TTL", "60")
    assert ShopSettings().idempotency_key_ttl == 60
    monkeypatch.setenv("IDEMPOTENCY_KEY_TTL", "0")
    with pytest.raises(ValidationError):
        ShopSettings()
