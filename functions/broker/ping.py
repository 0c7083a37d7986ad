"""The PingSource, emulated: a CloudEvent to its sink on a fixed interval.

On the cluster a PingSource follows its cron schedule, whose finest step is a
minute: too slow for a test or a demo to wait for. Locally every PingSource
fires every PING_INTERVAL seconds instead (the schedule is shown, not obeyed),
with the event Knative's ping adapter sends: type dev.knative.sources.ping,
source /apis/v1/namespaces/<namespace>/pingsources/<name>, the spec's data and
contentType. It is sent with the broker's retries; a ping that still fails is
only logged, since the next one follows soon and says the same.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Protocol

from functions.broker import wire_format
from functions.broker.delivery import Policy, Sender
from functions.broker.manifests import PingSource

log = logging.getLogger("broker")

PING_TYPE = "dev.knative.sources.ping"


class _Counts(Protocol):
    def add(self, name: str, trigger: str | None = None, amount: int = 1) -> None: ...


def ping_event(source: PingSource) -> Any:
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "type": PING_TYPE,
        "source": source.source,
        "id": str(uuid.uuid4()),
        "time": datetime.now(UTC),
    }
    if source.content_type:
        attributes["datacontenttype"] = source.content_type
    return wire_format.make_event(attributes, source.data)


def describe_ping_source(source: PingSource, url: str | None, interval: float) -> dict[str, Any]:
    """One PingSource as GET /triggers shows it: the manifest's fields and the local URL."""
    return {
        "name": source.name,
        "namespace": source.namespace,
        "source": source.source,
        "schedule": source.schedule,
        "intervalSeconds": interval if interval > 0 else None,
        "contentType": source.content_type,
        "data": source.data.decode(errors="replace") if source.data is not None else None,
        "sink": source.sink.describe(),
        "url": url,
    }


class PingEmitter:
    """Sends every PingSource's event to its sink, every `interval` seconds.

    `clock` and `sleep` are the event loop's unless given: a test passes a fake pair
    to check the schedule without waiting for it.
    """

    def __init__(
        self,
        sources: list[tuple[PingSource, str | None]],
        interval: float,
        policy: Policy,
        sender: Sender,
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
        stats: _Counts,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.sources = sources
        self.interval = interval
        self.policy = policy
        self.sender = sender
        self.spawn = spawn
        self.stats = stats
        self.clock = clock
        self.sleep = sleep

    async def run(self) -> None:
        """Tick on a fixed rate (no drift); a tick missed while the loop was busy is skipped."""
        for source, url in self.sources:
            log.info(
                "pingsource %s (schedule %r) -> %s every %gs",
                source.name,
                source.schedule,
                url or "UNRESOLVED, not sent",
                self.interval,
            )
        now = self.clock or asyncio.get_running_loop().time
        next_tick = now() + self.interval
        while True:
            await self.sleep(max(0.0, next_tick - now()))
            next_tick += self.interval
            if next_tick < now():
                next_tick = now() + self.interval
            for source, url in self.sources:
                if url is not None:
                    self.spawn(self._send(source, url), f"ping of pingsource {source.name}")

    async def _send(self, source: PingSource, url: str) -> None:
        result = await self.sender.deliver(
            ping_event(source), url, self.policy, f"pingsource={source.name}"
        )
        if result.delivered:
            self.stats.add("pings_sent")
        else:
            self.stats.add("pings_failed")
            log.warning(
                "ping of pingsource %s to %s failed after %d attempt(s): %s",
                source.name,
                url,
                result.attempts,
                result.last.error,
            )
