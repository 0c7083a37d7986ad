"""Positive order bodies that are valid beyond what a schema can say.

A schema can say what a sku looks like, not which skus exist, nor that an order's
lines name different products of one currency: a generated order of unknown skus is
rightly refused (422 unknown-sku), and the fuzzer's positive-data check would call
that a defect. So a positive order names existing products, each once; and its
Idempotency-Key, a key for one request, is made unique to its body. Negative orders
are sent as generated.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.fuzz.ledger import Ledger

IDEMPOTENCY_KEY = "Idempotency-Key"


def _is_positive(case: Any) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


def _valid_lines(lines: list[Any], ledger: Ledger) -> bool:
    skus = [line.get("sku") if isinstance(line, dict) else None for line in lines]
    products = [ledger.known(sku) if isinstance(sku, str) else None for sku in skus]
    return (
        None not in products
        and len(set(skus)) == len(skus)
        and len({product["currency"] for product in products}) == 1
    )


def _one_currency(ledger: Ledger) -> list[str]:
    """The skus of the currency most products have now (the run may change currencies)."""
    by_currency: dict[str, list[str]] = {}
    for sku in sorted(set(ledger.seeded_products) | set(ledger.products)):
        by_currency.setdefault(ledger.known(sku)["currency"], []).append(sku)
    return max(by_currency.values(), key=len)


def make_valid(case: Any, ledger: Ledger) -> None:
    """Change a positive POST /api/orders case in place; leave every other case alone."""
    if (case.method, case.path) != ("POST", "/api/orders") or not _is_positive(case):
        return
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("lines"), list):
        return
    if not _valid_lines(body["lines"], ledger):
        skus = _one_currency(ledger)
        start = len(json.dumps(body)) % len(skus)
        for offset, line in enumerate(body["lines"]):
            line["sku"] = skus[(start + offset) % len(skus)]
    key = case.headers.get(IDEMPOTENCY_KEY) if case.headers else None
    if isinstance(key, str):
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        case.headers[IDEMPOTENCY_KEY] = f"{key[:200]}.{digest[:32]}"
