"""What the monolith plugs in: its database, the payment provider, its settings."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from shop.domain.payments import SimulatedProvider
from shop.persistence.database import Database
from shop.settings import ShopSettings


@dataclass
class Wiring:
    settings: ShopSettings
    database: Database
    provider: SimulatedProvider


def wiring() -> Wiring:
    return current_app.extensions["threefold"]
