"""The broker's timing on an injected clock: the waits between attempts, the PingSource's ticks.

These are the schedules a real-process test can only bound from below (a loaded
machine makes every wait longer), so they are checked here exactly: the Sender and
the PingEmitter take the `sleep` (and the clock) they wait with, and a fake one
records what they asked for instead of waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import httpx
import pytest

from functions.broker import wire_format
from functions.broker.delivery import Policy, Sender
from functions.broker.manifests import Destination, PingSource
from functions.broker.ping import PingEmitter
from functions.broker.stats import Stats


class FakeClock:
    """Time that passes only when someone sleeps (plus any delays a test queues up)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []
        self.late: list[float] = []  # how much longer than asked each next sleep takes

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds + (self.late.pop(0) if self.late else 0.0)


def _event() -> Any:
    attributes = {"specversion": "1.0", "type": "test.t", "source": "/tests", "id": "e-1"}
    return wire_format.make_event(attributes, None)


def _deliver(statuses: list[int], policy: Policy, clock: FakeClock) -> tuple[Any, list[int]]:
    """Deliver one event to a subscriber that answers `statuses` in turn."""
    seen: list[int] = []

    def answer(_request: httpx.Request) -> httpx.Response:
        status = statuses[min(len(seen), len(statuses) - 1)]
        seen.append(status)
        return httpx.Response(status)

    async def run() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            sender = Sender(client, sleep=clock.sleep)
            return await sender.deliver(_event(), "http://subscriber/", policy, "test")

    return asyncio.run(run()), seen


def test_linear_backoff_retries_first_at_once_then_after_the_delay():
    clock = FakeClock()
    policy = Policy(retry=3, backoff_policy="linear", backoff_delay=0.2, jitter=0.0)
    result, seen = _deliver([503, 503, 204], policy, clock)
    assert (result.delivered, result.attempts, seen) == (True, 3, [503, 503, 204])
    assert clock.slept == [0.0, 0.2]  # Knative's linear count starts at zero


def test_exponential_backoff_doubles_until_the_retries_are_spent():
    clock = FakeClock()
    policy = Policy(retry=3, backoff_policy="exponential", backoff_delay=0.1, jitter=0.0)
    result, seen = _deliver([500], policy, clock)
    assert (result.delivered, result.attempts, result.last.code) == (False, 4, 500)
    assert seen == [500] * 4
    assert clock.slept == pytest.approx([0.1, 0.2, 0.4])


def test_backoff_waits_are_stretched_by_the_jitter_and_capped():
    clock = FakeClock()
    policy = Policy(retry=4, backoff_delay=1.0, jitter=0.2, cap=3.0)
    _deliver([503], policy, clock)
    assert len(clock.slept) == 4
    for wait, base in zip(clock.slept, [1.0, 2.0, 4.0, 8.0], strict=True):
        assert min(base, 3.0) <= wait <= min(base * 1.2, 3.0), clock.slept


def test_a_final_failure_is_not_waited_for():
    clock = FakeClock()
    result, seen = _deliver([400], Policy(retry=3, backoff_delay=0.1), clock)
    assert (result.delivered, result.attempts, seen) == (False, 1, [400])
    assert clock.slept == []


class Enough(Exception):
    """Ends the emitter's endless loop once a test has seen the ticks it wants."""


def _ticks(count: int, interval: float, clock: FakeClock) -> list[float]:
    """The fake times at which the emitter sent its first `count` pings."""
    source = PingSource("p", "ns", "* * * * *", Destination(uri="http://sink/"))
    sent: list[float] = []

    def spawn(work: Coroutine[Any, Any, None], _what: str) -> None:
        work.close()  # not sent: only when is of interest here
        sent.append(clock.now)
        if len(sent) == count:
            raise Enough

    async def run() -> None:
        async with httpx.AsyncClient() as client:
            emitter = PingEmitter(
                sources=[(source, "http://sink/")],
                interval=interval,
                policy=Policy(),
                sender=Sender(client),
                spawn=spawn,
                stats=Stats(),
                clock=clock.time,
                sleep=clock.sleep,
            )
            await emitter.run()

    with pytest.raises(Enough):
        asyncio.run(run())
    return sent


def test_pings_keep_a_fixed_rate_when_a_wait_runs_late():
    clock = FakeClock()
    clock.late = [0.0, 0.3]  # the second wait ends 0.3 s late (a busy loop)
    start = clock.now
    ticks = [round(t - start, 6) for t in _ticks(4, 1.0, clock)]
    assert ticks == [1.0, 2.3, 3.0, 4.0]  # the next tick is not pushed back


def test_ticks_missed_while_the_loop_was_busy_are_skipped_not_sent_in_a_burst():
    clock = FakeClock()
    clock.late = [0.0, 2.7]  # the second wait ends 2.7 s late: ticks 3 and 4 are missed
    start = clock.now
    ticks = [round(t - start, 6) for t in _ticks(4, 1.0, clock)]
    assert ticks == [1.0, 4.7, 5.7, 6.7]
