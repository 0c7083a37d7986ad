"""Schemathesis against every stage: the servers answer as the OpenAPI document says.

Per stage, started for real: every operation with positive and negative data (the
examples, coverage and fuzzing phases), then scenarios that follow the document's
links (create a product, restock it, order it, read the order ...), all with the
admin token and every check schemathesis has (no 5xx; status codes, content types,
headers and bodies as documented; invalid data refused, valid data accepted; auth
not ignored; unsupported methods 405). Afterwards the shop is read back: nothing a
refused request asked for was written. The case counts are printed at the end of
the session.
"""

from __future__ import annotations

import schemathesis
from hypothesis import settings

from shop.openapi import DOCUMENT
from tests.fuzz.conftest import ADMIN_TOKEN, EXAMPLES, SCENARIOS, FuzzTarget
from tests.fuzz.valid_orders import make_valid

SEED = 20261201  # with derandomize, the same cases on every run


# Each stage listens on a port of its own, so the base URL is given with every call.
schema = schemathesis.openapi.from_path(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "auth": {"openapi": {"bearerAuth": {"bearer": ADMIN_TOKEN}}},
            "checks": {"enabled": True},
            "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True},
        }
    ),
)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)
def test_every_operation_answers_as_documented(case, fuzz_target: FuzzTarget):
    make_valid(case, fuzz_target.ledger)
    base_url = fuzz_target.shop.base_url
    response = case.call(base_url=base_url)
    fuzz_target.ledger.record("stateless", case.method, case.path, case, response)
    case.validate_response(response, transport_kwargs={"base_url": base_url})


def test_linked_operations_in_sequence(fuzz_target: FuzzTarget):
    ledger = fuzz_target.ledger

    class Scenario(schema.as_state_machine()):
        def get_call_kwargs(self, case) -> dict:
            return {"base_url": fuzz_target.shop.base_url}

        def before_call(self, case) -> None:
            make_valid(case, ledger)

        def after_call(self, response, case) -> None:
            super().after_call(response, case)
            ledger.record("stateful", case.method, case.path, case, response)

    Scenario.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=8,
            deadline=None,
            derandomize=True,
            database=None,
        )
    )


def test_refused_requests_wrote_nothing(fuzz_target: FuzzTarget, fuzz_summaries):
    ledger = fuzz_target.ledger
    fuzz_summaries[fuzz_target.name] = ledger.summary()
    assert ledger.cases["stateless"] and ledger.cases["stateful"], "run the whole module"
    wrong = ledger.verify(fuzz_target.shop)
    assert not wrong, "\n".join(wrong)
