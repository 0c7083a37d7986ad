"""Root test settings: how `make test` shares the suite between its pytest-xdist workers.

`make test` runs two workers with `--dist loadgroup`. Left alone, that scheduler sends
each ungrouped test wherever a worker is free, so every worker would start its own copy
of each module's stage (and each session stage of the contract suite). Instead every
test gets a group here, and a group runs whole on one worker:

- every test marked `postgres` is in one group: the server takes 100 connections, and
  two PostgreSQL stages at once (a functions stage is sixteen processes, each with its
  pool) plus the concurrency tests went past it ("too many clients");
- the fuzzer's tests are one group: its last test reads back what the stage's earlier
  ones did, in the same process (run in a group per stage, one of them once missed the
  stateful run's record);
- any other test using a session-scoped, parametrized fixture (the contract suite's
  `stage`) is grouped by that fixture's parameter, across modules: each stage is
  started once, by the worker that runs its group;
- any other test is grouped by its module, as module-scoped fixtures expect.

Without xdist (`pytest` alone, `pytest -p no:xdist`) the groups are only marks.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def shared_stage(item: pytest.Item) -> str | None:
    """The id of the session-scoped parameter this test shares with other modules, if any."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    for name, fixturedefs in item._fixtureinfo.name2fixturedefs.items():
        if name in callspec.params and fixturedefs[-1].scope == "session":
            return f"{name}={callspec.params[name]}"
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of(item, config.rootpath)))


def group_of(item: pytest.Item, root: Path) -> str:
    if item.get_closest_marker("postgres"):
        return "postgres"
    if item.path.parent.name == "fuzz":
        return "fuzz"
    stage = shared_stage(item)
    if stage:
        return f"{item.path.parent.name}:{stage}"
    return item.path.relative_to(root).as_posix()
