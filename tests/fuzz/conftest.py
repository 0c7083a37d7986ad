"""The fuzz suite's stages: each started for real, on SQLite in a temporary folder.

The budget is set by the environment so that `make fuzz` can run the same tests
longer: FUZZ_EXAMPLES (generated cases per operation and mode, default 4) and
FUZZ_SCENARIOS (stateful scenarios per stage, default 10).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from tests.fuzz.ledger import Ledger
from tests.support.client import ShopClient
from tests.support.stages import start_stage

ADMIN_TOKEN = "fuzz-suite-admin-token"
FUZZ_STAGES = ["monolith", "microservices", "functions"]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
SCENARIOS = int(os.environ.get("FUZZ_SCENARIOS", "10"))


@dataclass
class FuzzTarget:
    name: str
    shop: ShopClient
    ledger: Ledger


@pytest.fixture(scope="session", params=FUZZ_STAGES)
def fuzz_target(request, tmp_path_factory) -> Iterator[FuzzTarget]:
    name = request.param
    with ExitStack() as stack:
        data_dir = tmp_path_factory.mktemp(f"fuzz-{name}")
        shop = start_stage(stack, name, "sqlite", data_dir, ADMIN_TOKEN)
        yield FuzzTarget(name, shop, Ledger.of_seed())


_SUMMARIES: dict[str, str] = {}


@pytest.fixture(scope="session")
def fuzz_summaries() -> dict[str, str]:
    """Each stage's case counts, printed at the end of the session."""
    return _SUMMARIES


def pytest_terminal_summary(terminalreporter) -> None:
    if _SUMMARIES:
        terminalreporter.section("schemathesis cases per stage")
        for name, summary in _SUMMARIES.items():
            terminalreporter.write_line(f"{name}: {summary}")
