"""Root test settings: how `make test` shares the suite between its pytest-xdist workers.

`make test` runs two workers with `--dist loadgroup`. Left alone, that scheduler sends
each ungrouped test wherever a worker is free, so every worker would start its own copy
of each module's stage (and each session stage of the contract suite). Instead every
test gets a group here, and a group runs whole on one worker:

- a test using a session-scoped, parametrized fixture (the contract suite's `stage`,
  the fuzzer's `fuzz_target`) is grouped by that fixture's parameter, across modules:
  each stage is started once, by the worker that runs its group;
- any other test is grouped by its module, as module-scoped fixtures expect.

Without xdist (`pytest` alone, `pytest -p no:xdist`) the groups are only marks.
"""

from __future__ import annotations

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
        stage = shared_stage(item)
        folder = item.path.parent.name
        group = f"{folder}:{stage}" if stage else item.path.relative_to(config.rootpath).as_posix()
        item.add_marker(pytest.mark.xdist_group(group))
