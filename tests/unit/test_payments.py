"""The simulated payment provider: tokens, decisions, injected faults and settings."""

import random

import pytest

from shop.domain.payments import (
    DECLINE_TOKEN,
    ChargeDecision,
    ChargeStatus,
    ProviderSettings,
    SimulatedProvider,
    is_valid_token,
)

VALID_TOKENS = ["tok_a", "tok_visa", "tok_A1_b2", "tok_" + "x" * 64, "tok_decline2", "tok__"]
INVALID_TOKENS = [
    "",
    "tok_",
    "tok_" + "x" * 65,
    "visa",
    "tok-visa",
    "TOK_visa",
    "tok_visa!",
    "tok_vi sa",
    "tok_visa-1",
    "tok_visa\n",
    " tok_visa",
    "tok_é",
    None,
    123,
]


class RecordingSleep:
    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


class ExplodingRandom(random.Random):
    def random(self):
        raise AssertionError("the random source must not be used")


def provider(latency_ms=0, failure_rate=0.0, seed=1234, sleep=None):
    return SimulatedProvider(
        ProviderSettings(latency_ms=latency_ms, failure_rate=failure_rate),
        sleep=sleep or RecordingSleep(),
        rng=random.Random(seed),
    )


# --- tokens and decisions ------------------------------------------------------------------------


@pytest.mark.parametrize("token", [*VALID_TOKENS, DECLINE_TOKEN])
def test_valid_tokens(token):
    assert is_valid_token(token) is True


@pytest.mark.parametrize("token", INVALID_TOKENS)
def test_invalid_tokens(token):
    assert is_valid_token(token) is False


def test_decline_token_is_declined():
    decision = provider().decide(DECLINE_TOKEN, 1299)
    assert decision == ChargeDecision(ChargeStatus.DECLINED, "card declined")
    assert decision.captured is False


@pytest.mark.parametrize("token", VALID_TOKENS)
def test_valid_token_is_captured(token):
    decision = provider().decide(token, 1299)
    assert decision == ChargeDecision(ChargeStatus.CAPTURED)
    assert decision.reason is None
    assert decision.captured is True


@pytest.mark.parametrize("token", INVALID_TOKENS)
def test_malformed_token_is_declined(token):
    decision = provider().decide(token, 1299)
    assert decision == ChargeDecision(ChargeStatus.DECLINED, "invalid payment token")
    assert decision.captured is False


@pytest.mark.parametrize("amount", [0, -1, -1299])
def test_non_positive_amount_is_declined(amount):
    decision = provider().decide("tok_visa", amount)
    assert decision == ChargeDecision(ChargeStatus.DECLINED, "amount must be positive")


def test_smallest_amount_is_captured():
    assert provider().decide("tok_visa", 1).captured is True


def test_default_provider_captures_without_faults():
    assert SimulatedProvider().decide("tok_visa", 100).status is ChargeStatus.CAPTURED


# --- injected failures ---------------------------------------------------------------------------


def test_failure_rate_one_always_fails():
    p = provider(failure_rate=1.0)
    decisions = [p.decide("tok_visa", 1299) for _ in range(200)]
    assert set(decisions) == {ChargeDecision(ChargeStatus.FAILED, "payment provider error")}
    assert not any(d.captured for d in decisions)


@pytest.mark.parametrize("seed", [0, 1, 42, 2024])
def test_failure_rate_zero_never_fails(seed):
    p = provider(failure_rate=0.0, seed=seed)
    decisions = [p.decide("tok_visa", 1299) for _ in range(500)]
    assert {d.status for d in decisions} == {ChargeStatus.CAPTURED}


def test_failure_rate_zero_does_not_draw_random_numbers():
    p = SimulatedProvider(ProviderSettings(), sleep=RecordingSleep(), rng=ExplodingRandom(7))
    assert p.decide("tok_visa", 1299).captured is True


def test_partial_failure_rate_follows_the_injected_rng():
    seed, rate = 99, 0.3
    p = provider(failure_rate=rate, seed=seed)
    replay = random.Random(seed)
    expected = [
        ChargeStatus.FAILED if replay.random() < rate else ChargeStatus.CAPTURED for _ in range(300)
    ]
    actual = [p.decide("tok_visa", 500).status for _ in range(300)]
    assert actual == expected
    assert ChargeStatus.FAILED in actual
    assert ChargeStatus.CAPTURED in actual


def test_decline_wins_over_injected_failure():
    p = SimulatedProvider(
        ProviderSettings(failure_rate=1.0), sleep=RecordingSleep(), rng=ExplodingRandom(0)
    )
    assert p.decide(DECLINE_TOKEN, 1299).status is ChargeStatus.DECLINED
    assert p.decide("bad token", 1299).reason == "invalid payment token"
    assert p.decide("tok_visa", 0).reason == "amount must be positive"


# --- injected latency ----------------------------------------------------------------------------


@pytest.mark.parametrize(("latency_ms", "seconds"), [(1, 0.001), (250, 0.25), (3000, 3.0)])
def test_latency_calls_injected_sleep_with_seconds(latency_ms, seconds):
    sleep = RecordingSleep()
    p = provider(latency_ms=latency_ms, sleep=sleep)
    assert p.decide("tok_visa", 1299).captured is True
    assert sleep.calls == [pytest.approx(seconds)]


def test_latency_applies_to_every_charge_whatever_the_outcome():
    sleep = RecordingSleep()
    p = provider(latency_ms=100, failure_rate=1.0, sleep=sleep)
    p.decide("tok_visa", 1299)
    p.decide(DECLINE_TOKEN, 1299)
    p.decide("garbage", 1299)
    assert sleep.calls == [pytest.approx(0.1)] * 3


def test_no_latency_means_no_sleep():
    sleep = RecordingSleep()
    p = provider(latency_ms=0, sleep=sleep)
    p.decide("tok_visa", 1299)
    p.decide(DECLINE_TOKEN, 1299)
    assert sleep.calls == []


# --- settings ------------------------------------------------------------------------------------


def test_default_settings_are_off():
    settings = ProviderSettings()
    assert (settings.latency_ms, settings.failure_rate) == (0, 0.0)


@pytest.mark.parametrize(
    ("latency_ms", "failure_rate"), [(0, 0.0), (0, 1.0), (1, 0.5), (60_000, 0.001)]
)
def test_valid_settings(latency_ms, failure_rate):
    settings = ProviderSettings(latency_ms, failure_rate)
    assert (settings.latency_ms, settings.failure_rate) == (latency_ms, failure_rate)


@pytest.mark.parametrize("latency_ms", [-1, -1000])
def test_negative_latency_rejected(latency_ms):
    with pytest.raises(ValueError, match="PAYMENT_LATENCY_MS must be 0 or more"):
        ProviderSettings(latency_ms=latency_ms)


@pytest.mark.parametrize("rate", [-0.01, 1.01, 2.0, float("nan"), float("inf"), float("-inf")])
def test_failure_rate_out_of_range_rejected(rate):
    with pytest.raises(ValueError, match=r"PAYMENT_FAILURE_RATE must be between 0\.0 and 1\.0"):
        ProviderSettings(failure_rate=rate)


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        ProviderSettings().latency_ms = 5  # type: ignore[misc]
