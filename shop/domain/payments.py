"""The simulated payment provider and its decisions.

An order carries a payment token, never a card number. Test tokens:

- `tok_decline`: always declined (like a card with no funds);
- any other well-formed token (`tok_` + 1-64 letters, digits, `_`): approved,
  unless a failure is injected.

Faults are injected with two settings, both off by default:
`PAYMENT_LATENCY_MS` (every charge waits this long) and
`PAYMENT_FAILURE_RATE` (0.0-1.0: the share of charges that fail as a
provider error, as opposed to a decline).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

DECLINE_TOKEN = "tok_decline"  # noqa: S105 - a documented test token, not a secret
TOKEN_PATTERN = r"^tok_[A-Za-z0-9_]{1,64}$"  # noqa: S105
_TOKEN = re.compile(TOKEN_PATTERN)
PAYMENT_ID_PATTERN = r"^pay_[A-Za-z0-9_-]{16}$"  # "pay_" + 96 random bits, url-safe


def is_valid_token(token: str) -> bool:
    return isinstance(token, str) and _TOKEN.fullmatch(token) is not None


class ChargeStatus(StrEnum):
    PENDING = "pending"  # asked, no answer yet: the provider call is under way
    CAPTURED = "captured"
    DECLINED = "declined"
    FAILED = "failed"


@dataclass(frozen=True)
class ChargeDecision:
    status: ChargeStatus
    reason: str | None = None

    @property
    def captured(self) -> bool:
        return self.status is ChargeStatus.CAPTURED


@dataclass(frozen=True)
class ProviderSettings:
    latency_ms: int = 0
    failure_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ValueError("PAYMENT_LATENCY_MS must be 0 or more")
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("PAYMENT_FAILURE_RATE must be between 0.0 and 1.0")


class SimulatedProvider:
    """Decides charges like a card processor would, with injectable faults."""

    def __init__(
        self,
        settings: ProviderSettings = ProviderSettings(),
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._rng = rng or random.Random()

    def decide(self, token: str, amount_cents: int) -> ChargeDecision:
        if self.settings.latency_ms:
            self._sleep(self.settings.latency_ms / 1000)
        if not is_valid_token(token):
            return ChargeDecision(ChargeStatus.DECLINED, "invalid payment token")
        if token == DECLINE_TOKEN:
            return ChargeDecision(ChargeStatus.DECLINED, "card declined")
        if amount_cents <= 0:
            return ChargeDecision(ChargeStatus.DECLINED, "amount must be positive")
        if self.settings.failure_rate and self._rng.random() < self.settings.failure_rate:
            return ChargeDecision(ChargeStatus.FAILED, "payment provider error")
        return ChargeDecision(ChargeStatus.CAPTURED)


@dataclass(frozen=True)
class Charge:
    """A recorded charge: one per order (the order id is its idempotency key)."""

    id: str
    order_id: str
    amount_cents: int
    currency: str
    status: ChargeStatus
    reason: str | None
    created_at: datetime

    @property
    def captured(self) -> bool:
        return self.status is ChargeStatus.CAPTURED


CANCELLED = "cancelled: no answer in time"


def settle_charge(charge: Charge, decision: ChargeDecision) -> Charge:
    """A pending charge takes the provider's decision; a final one keeps its own.

    So a charge cancelled while the provider was slow stays cancelled, even if
    the provider approves afterwards: nothing is captured for an order that was
    already given up.
    """
    if charge.status is not ChargeStatus.PENDING:
        return charge
    return replace(charge, status=decision.status, reason=decision.reason)


def cancel_charge(charge: Charge) -> Charge:
    """Give up a pending charge (it becomes failed); a final charge stays as it is."""
    if charge.status is not ChargeStatus.PENDING:
        return charge
    return replace(charge, status=ChargeStatus.FAILED, reason=CANCELLED)
