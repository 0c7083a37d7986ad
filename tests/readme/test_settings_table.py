"""The README's settings table gives each setting's limits as the settings classes hold them."""

from __future__ import annotations

import dataclasses

import annotated_types
import pytest
from pydantic_settings import BaseSettings

from functions.broker.settings import BrokerSettings
from functions.runtime.settings import FunctionSettings
from microservices.common.settings import ServiceSettings
from shop.persistence.database import PoolSettings
from shop.settings import ShopSettings
from stages.launcher import ROOT

WORDS = {
    annotated_types.Ge: ">= {}",
    annotated_types.Gt: "> {}",
    annotated_types.Le: "to {}",  # "0.0 to 1.0": the lower end is a Ge
    annotated_types.MinLen: "at least {} characters",
}


def _limits_cell(variable: str) -> str:
    for line in (ROOT / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and f"`{variable}`" in cells[0]:
            return cells[2]
    raise AssertionError(f"{variable} is not in the README's settings table")


def _constraints(settings: type[BaseSettings]):
    for name, info in settings.model_fields.items():
        for rule in info.metadata:
            if type(rule) in WORDS:
                yield name.upper(), rule


@pytest.mark.parametrize(
    "settings", [ShopSettings, ServiceSettings, FunctionSettings, BrokerSettings, PoolSettings]
)
def test_every_limit_of_a_settings_class_is_in_the_readme(settings):
    checked = 0
    for variable, rule in _constraints(settings):
        if variable == "BROKER_SHUTDOWN_GRACE" and settings is BrokerSettings:
            continue  # internal
        (bound,) = dataclasses.astuple(rule)
        cell = _limits_cell(variable)
        shown = WORDS[type(rule)].format(f"{bound:g}")
        assert shown in cell or f"{bound:g} to" in cell, (variable, rule, cell)
        checked += 1
    assert checked
