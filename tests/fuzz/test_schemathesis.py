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

import contextlib

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.errors import FailureGroup

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
            # Nothing here is secret (a test token, test card tokens): show failures whole.
            "output": {"sanitization": {"enabled": False}},
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
    failures: list[str] = []

    class Scenario(schema.as_state_machine()):
        def get_call_kwargs(self, case) -> dict:
            return {"base_url": fuzz_target.shop.base_url}

        def before_call(self, case) -> None:
            make_valid(case, ledger)

        def after_call(self, response, case) -> None:
            super().after_call(response, case)
            ledger.record("stateful", case.method, case.path, case, response)

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            try:
                super().validate_response(response, case, additional_checks, **kwargs)
            except FailureGroup as failure:
                failures.append(str(failure))  # kept: a replay below may not reproduce it
                raise

    # As schemathesis runs its own stateful phase: generate only. Scenarios run against a
    # live shop whose state moves on, so Hypothesis cannot replay or shrink them.
    machine_settings = settings(
        phases=[Phase.generate],
        max_examples=SCENARIOS,
        stateful_step_count=8,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    # A second pass may draw from answers that have changed since; what failed is in `failures`.
    with contextlib.suppress(FlakyStrategyDefinition):
        Scenario.run(settings=machine_settings)
    assert not failures, failures[0]


def test_refused_requests_wrote_nothing(fuzz_target: FuzzTarget, fuzz_summaries):
    ledger = fuzz_target.ledger
    fuzz_summaries[fuzz_target.name] = ledger.summary()
    assert ledger.cases["stateless"] and ledger.cases["stateful"], "run the whole module"
    wrong = ledger.verify(fuzz_target.shop)
    assert not wrong, "\n".join(wrong)
