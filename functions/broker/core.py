"""The broker itself: ingest an event, match it against the triggers, deliver to each.

Matching is Knative's attribute filter: every attribute named in
spec.filter.attributes must equal the event's (type, source, subject or any
extension, compared as header text); an empty value matches anything, and a
trigger without a filter gets every event. Each matching trigger gets its own
delivery, running on its own (fan-out), so a slow or failing subscriber never
holds up another. Events live in memory only, as in Knative's in-memory channel:
what is still being delivered when the process stops is lost after a grace
period (the saga's re-drive is what recovers from that, as on the cluster).

The work in memory is bounded: each subscriber (URL) has at most
BROKER_SUBSCRIBER_CAPACITY deliveries in flight (waiting for a retry included).
An event that would take one more is refused as a whole (`OverCapacity`): the
ingress answers 503 with Retry-After, so the publisher tries again later, and a
reply is refused back to its delivery, which counts as a failed attempt and is
retried with backoff (the subscriber answers the same reply again).

A delivery whose retries are exhausted becomes a dead letter: the event with
Knative's knativeerror* extensions, kept in the broker's own store (GET
/dead-letters), appended to DEAD_LETTER_FILE, and POSTed to the trigger's
deadLetterSink when that resolves to a URL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter, deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import httpx
from cloudevents.core.base import BaseCloudEvent

from functions.broker import wire_format
from functions.broker.delivery import (
    DEFAULT_BACKOFF_CAP,
    DEFAULT_BACKOFF_DELAY,
    DEFAULT_BACKOFF_POLICY,
    DEFAULT_JITTER,
    DEFAULT_RETRY,
    DEFAULT_TIMEOUT,
    Attempt,
    Policy,
    Sender,
    error_extensions,
)
from functions.broker.manifests import Broker, DeliverySpec, Destination, Manifests, Trigger
from functions.broker.ping import PingEmitter
from functions.broker.settings import BrokerSettings

log = logging.getLogger("broker")

DEAD_LETTERS_KEPT = 10_000  # the in-memory store keeps the newest ones
LAGS_KEPT = 100_000
_MANIFEST_NAMES = {
    "retry": "retry",
    "backoff_policy": "backoffPolicy",
    "backoff_delay": "backoffDelay",
    "timeout": "timeout",
    "dead_letter_sink": "deadLetterSink",
}


def resolve(destination: Destination | None, subscribers: dict[str, str]) -> str | None:
    """The local URL of a Knative Destination: its ref's name looked up in
    BROKER_SUBSCRIBERS (with its uri, if any, relative to that), or its absolute uri."""
    if destination is None:
        return None
    if destination.ref_name:
        base = subscribers.get(destination.ref_name)
        if base is None:
            return None
        return urljoin(base, destination.uri) if destination.uri else base
    uri = destination.uri or ""
    return uri if uri.startswith(("http://", "https://")) else None


def policy_of(
    spec: DeliverySpec, jitter: float = DEFAULT_JITTER, cap: float = DEFAULT_BACKOFF_CAP
) -> Policy:
    return Policy(
        retry=DEFAULT_RETRY if spec.retry is None else spec.retry,
        backoff_policy=spec.backoff_policy or DEFAULT_BACKOFF_POLICY,
        backoff_delay=DEFAULT_BACKOFF_DELAY if spec.backoff_delay is None else spec.backoff_delay,
        timeout=spec.timeout or DEFAULT_TIMEOUT,
        jitter=jitter,
        cap=cap,
    )


class OverCapacity(Exception):
    """An event refused because a subscriber it goes to has no room for more work."""

    def __init__(self, subscriber: str, capacity: int) -> None:
        super().__init__(f"subscriber {subscriber} has {capacity} deliveries in flight")
        self.subscriber = subscriber


@dataclass
class Route:
    """A trigger, resolved: where its events go and with which delivery settings."""

    trigger: Trigger
    url: str | None
    policy: Policy
    dead_letter_sink: Destination | None
    dead_letter_url: str | None
    inherited: list[str]

    @property
    def name(self) -> str:
        return self.trigger.name

    @property
    def load_key(self) -> str:
        """What the capacity is counted by: the subscriber's URL (shared by its triggers)."""
        return self.url or f"unresolved:{self.name}"

    def matches(self, event: BaseCloudEvent) -> bool:
        attributes = event.get_attributes()
        for name, wanted in self.trigger.filters.items():
            if wanted == "":
                continue
            value = attributes.get(name)
            if value is None or wire_format.attribute_text(value) != wanted:
                return False
        return True

    def describe(self) -> dict[str, Any]:
        sink = self.dead_letter_sink
        return {
            "name": self.name,
            "broker": self.trigger.broker,
            "filter": dict(self.trigger.filters),
            "subscriber": self.trigger.subscriber.describe(),
            "url": self.url,
            "delivery": {
                "retry": self.policy.retry,
                "backoffPolicy": self.policy.backoff_policy,
                "backoffDelaySeconds": self.policy.backoff_delay,
                "timeoutSeconds": self.policy.timeout,
                "backoffJitter": self.policy.jitter,
                "backoffCapSeconds": self.policy.cap,
                "deadLetterSink": sink.describe() if sink else None,
                "deadLetterUrl": self.dead_letter_url,
            },
            "inheritedFromBroker": self.inherited,
        }


@dataclass
class Stats:
    """Counts and the delivery lag (ingest to the subscriber's 2xx) of delivered events."""

    counts: Counter[str] = field(default_factory=Counter)
    by_trigger: dict[str, Counter[str]] = field(default_factory=dict)
    lags_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LAGS_KEPT))

    def add(self, name: str, trigger: str | None = None, amount: int = 1) -> None:
        self.counts[name] += amount
        if trigger is not None:
            self.by_trigger.setdefault(trigger, Counter())[name] += amount

    def reset(self) -> None:
        self.counts.clear()
        self.by_trigger.clear()
        self.lags_ms.clear()

    def snapshot(self, in_flight: int) -> dict[str, Any]:
        lags = sorted(self.lags_ms)
        keys = (
            "ingested",
            "refused",
            "delivered",
            "retried",
            "dead_lettered",
            "replies",
            "attempts",
        )
        return {
            **{key: self.counts[key] for key in keys},
            "in_flight": in_flight,
            "pings": {"sent": self.counts["pings_sent"], "failed": self.counts["pings_failed"]},
            "lag_ms": {
                "count": len(lags),
                "p50": _percentile(lags, 50),
                "p95": _percentile(lags, 95),
                "max": round(lags[-1], 1) if lags else None,
            },
            "by_trigger": {name: dict(counts) for name, counts in sorted(self.by_trigger.items())},
        }


def _percentile(ordered: list[float], percent: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None for no values)."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * percent // 100))
    return round(ordered[int(rank) - 1], 1)


class DeadLetters:
    """The broker's own dead-letter sink: inspectable in memory, optionally in a file."""

    def __init__(self, path: Any = None) -> None:
        self.records: deque[dict[str, Any]] = deque(maxlen=DEAD_LETTERS_KEPT)
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def add(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        if self.path is not None:
            with self.path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")


class EventBroker:
    """Every Broker of the manifests, their triggers, the PingSources, one event loop."""

    def __init__(self, manifests: Manifests, settings: BrokerSettings) -> None:
        self.settings = settings
        self.subscribers = settings.broker_subscribers
        self.brokers: dict[str, Broker] = {b.name: b for b in manifests.brokers}
        self.routes: dict[str, list[Route]] = {name: [] for name in self.brokers}
        for trigger in manifests.triggers:
            broker = self.brokers.get(trigger.broker)
            if broker is None:
                log.warning(
                    "trigger %s names broker %s, which no manifest defines: ignored",
                    trigger.name,
                    trigger.broker,
                )
                continue
            self.routes[broker.name].append(self._route(trigger, broker))
        self.ping_sources = manifests.ping_sources
        self.stats = Stats()
        self.dead_letters = DeadLetters(settings.dead_letter_file)
        self.accepting = False
        self._tasks: dict[asyncio.Task[None], str] = {}
        self._load: Counter[str] = Counter()  # deliveries in flight per subscriber
        self._client: httpx.AsyncClient | None = None
        self._sender: Sender | None = None
        self._ping: asyncio.Task[None] | None = None

    def _route(self, trigger: Trigger, broker: Broker) -> Route:
        own = trigger.delivery or DeliverySpec()
        spec = own.merged_over(broker.delivery)
        inherited = [
            _MANIFEST_NAMES[f] for f in broker.delivery.set_fields() if f not in own.set_fields()
        ]
        if trigger.delivery is not None and inherited:
            # Knative's MT broker takes a trigger's spec.delivery as a whole and the broker's
            # only when the trigger sets none; field by field here. Say where they differ.
            log.warning(
                "trigger %s sets spec.delivery without %s: taken from broker %s here, but on "
                "a Knative cluster a trigger's delivery replaces the broker's as a whole",
                trigger.name,
                ", ".join(inherited),
                broker.name,
            )
        return Route(
            trigger=trigger,
            url=resolve(trigger.subscriber, self.subscribers),
            policy=self._policy(spec),
            dead_letter_sink=spec.dead_letter_sink,
            dead_letter_url=resolve(spec.dead_letter_sink, self.subscribers),
            inherited=inherited,
        )

    # -- lifecycle ------------------------------------------------------------------------

    def default_policy(self) -> Policy:
        """The first broker's delivery settings (what the PingSources are sent with)."""
        return self._policy(next(iter(self.brokers.values())).delivery)

    def _policy(self, spec: DeliverySpec) -> Policy:
        settings = self.settings
        return policy_of(spec, settings.broker_backoff_jitter, settings.broker_backoff_cap)

    async def start(self) -> None:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
        self._client = httpx.AsyncClient(limits=limits, timeout=DEFAULT_TIMEOUT)
        self._sender = Sender(self._client)
        self.accepting = True
        for name, routes in self.routes.items():
            log.info(
                "broker %s: %d trigger(s): %s",
                name,
                len(routes),
                ", ".join(f"{r.name}->{r.url or 'UNRESOLVED'}" for r in routes) or "-",
            )
        sinks = {
            r.dead_letter_sink.describe()
            for routes in self.routes.values()
            for r in routes
            if r.dead_letter_sink and not r.dead_letter_url
        }
        for sink in sorted(sinks):
            log.info("dead-letter sink %s has no URL: dead letters stay in /dead-letters", sink)
        interval = self.settings.ping_interval
        if self.ping_sources and interval > 0:
            emitter = PingEmitter(
                sources=[(p, resolve(p.sink, self.subscribers)) for p in self.ping_sources],
                interval=interval,
                policy=self.default_policy(),
                sender=self._sender,
                spawn=self.spawn,
                stats=self.stats,
            )
            self._ping = asyncio.create_task(emitter.run(), name="ping")
        unresolved = self.unresolved()
        if unresolved:
            log.warning("not ready, no URL in BROKER_SUBSCRIBERS for: %s", ", ".join(unresolved))

    async def stop(self) -> None:
        """Stop the PingSources, give running deliveries the grace period, drop the rest."""
        self.accepting = False
        if self._ping is not None:
            self._ping.cancel()
            await asyncio.gather(self._ping, return_exceptions=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.broker_shutdown_grace
        if self._tasks:
            log.info(
                "stopping: %d delivery(ies) in flight, waiting up to %.1fs",
                len(self._tasks),
                self.settings.broker_shutdown_grace,
            )
        while self._tasks and loop.time() < deadline:
            await asyncio.wait(set(self._tasks), timeout=deadline - loop.time())
        for task, what in list(self._tasks.items()):
            log.warning("stopping: abandoned %s", what)
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
        log.info("stopped")

    def spawn(self, work: Coroutine[Any, Any, None], what: str) -> None:
        """Run `work` on its own; the shutdown waits for it, a crash in it is logged."""
        task = asyncio.create_task(work)
        self._tasks[task] = what
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        what = self._tasks.pop(task, "work")
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed unexpectedly", what, exc_info=task.exception())

    # -- routing --------------------------------------------------------------------------

    def find(self, name: str | None) -> Broker | None:
        """A broker by name; without a name, the only one (or the first of several)."""
        if name is None:
            return next(iter(self.brokers.values()))
        return self.brokers.get(name)

    def unresolved(self) -> list[str]:
        """Subscribers (and, while pings run, ping sinks) without a local URL."""
        missing = [
            f"trigger {r.name}: {r.trigger.subscriber.describe()}"
            for routes in self.routes.values()
            for r in routes
            if r.url is None
        ]
        if self.settings.ping_interval > 0:
            missing += [
                f"pingsource {p.name}: {p.sink.describe()}"
                for p in self.ping_sources
                if resolve(p.sink, self.subscribers) is None
            ]
        return missing

    def ingest(self, event: BaseCloudEvent, broker: Broker, origin: str = "http") -> int:
        """Accept one event into `broker`: one delivery per matching trigger; their number.
        Raises OverCapacity, accepting nothing, when a subscriber it goes to is full."""
        received = time.monotonic()
        # Knative's ingress stamps every event it accepts with its arrival time.
        arrival = wire_format.attribute_text(datetime.now(UTC))
        event = wire_format.with_extensions(event, {"knativearrivaltime": arrival})
        matching = [r for r in self.routes[broker.name] if r.matches(event)]
        capacity = self.settings.broker_subscriber_capacity
        for route in matching:
            if self._load[route.load_key] >= capacity:
                self.stats.add("refused", route.name)
                log.warning(
                    "refused type=%s id=%s from=%s: trigger %s's subscriber %s is full (%d)",
                    event.get_type(),
                    event.get_id(),
                    origin,
                    route.name,
                    route.load_key,
                    capacity,
                )
                raise OverCapacity(route.load_key, capacity)
        self.stats.add("ingested")
        log.info(
            "ingested type=%s subject=%s id=%s source=%s broker=%s from=%s triggers=%s",
            event.get_type(),
            event.get_subject() or "-",
            event.get_id(),
            event.get_source(),
            broker.name,
            origin,
            ",".join(r.name for r in matching) or "-",
        )
        for route in matching:
            what = f"delivery of {event.get_type()} {event.get_id()} to trigger {route.name}"
            self._load[route.load_key] += 1
            self.spawn(self._deliver(route, broker, event, received), what)
        return len(matching)

    def _accept_reply(self, reply: BaseCloudEvent, broker: Broker, route: Route) -> bool:
        try:
            self.ingest(reply, broker, origin=f"reply:{route.name}")
        except OverCapacity:
            return False
        return True

    async def _deliver(
        self, route: Route, broker: Broker, event: BaseCloudEvent, received: float
    ) -> None:
        try:
            await self._deliver_once(route, broker, event, received)
        finally:
            self._load[route.load_key] -= 1
            if self._load[route.load_key] <= 0:
                del self._load[route.load_key]

    async def _deliver_once(
        self, route: Route, broker: Broker, event: BaseCloudEvent, received: float
    ) -> None:
        if route.url is None:
            text = f"subscriber {route.trigger.subscriber.describe()} has no URL"
            await self._dead_letter(route, event, Attempt(0, 0, False, "unresolved", text), 0)
            return
        assert self._sender is not None
        result = await self._sender.deliver(
            event,
            route.url,
            route.policy,
            f"trigger={route.name}",
            accept_reply=lambda reply: self._accept_reply(reply, broker, route),
        )
        self.stats.add("attempts", route.name, result.attempts)
        self.stats.add("retried", route.name, result.attempts - 1)
        if not result.delivered:
            await self._dead_letter(route, event, result.last, result.attempts)
            return
        self.stats.add("delivered", route.name)
        self.stats.lags_ms.append((result.last.finished - received) * 1000)
        if result.reply is not None:  # already ingested by _accept_reply
            self.stats.add("replies", route.name)

    async def _dead_letter(
        self, route: Route, event: BaseCloudEvent, last: Attempt, attempts: int
    ) -> None:
        destination = route.url or route.trigger.subscriber.describe()
        dead = wire_format.with_extensions(event, error_extensions(destination, last))
        self.stats.add("dead_lettered", route.name)
        self.dead_letters.add(
            {
                "trigger": route.name,
                "broker": route.trigger.broker,
                "subscriber": destination,
                "attempts": attempts,
                "error": last.error,
                "code": last.code,
                "dead_letter_sink": route.dead_letter_url,
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "event": wire_format.describe(dead),
            }
        )
        log.warning(
            "dead-lettered type=%s subject=%s id=%s trigger=%s subscriber=%s attempts=%d "
            "code=%d error=%s sink=%s",
            event.get_type(),
            event.get_subject() or "-",
            event.get_id(),
            route.name,
            destination,
            attempts,
            last.code,
            last.error,
            route.dead_letter_url or "store",
        )
        if route.dead_letter_url and self._sender is not None:
            label = f"trigger={route.name} dead-letter-sink"
            result = await self._sender.deliver(dead, route.dead_letter_url, route.policy, label)
            if not result.delivered:
                log.error(
                    "dead-letter sink %s refused id=%s: it stays in /dead-letters only",
                    route.dead_letter_url,
                    event.get_id(),
                )

    # -- views ----------------------------------------------------------------------------

    def wiring(self) -> dict[str, Any]:
        """What the manifests came to, resolved (GET /triggers)."""
        interval = self.settings.ping_interval
        return {
            "brokers": [
                {
                    "name": b.name,
                    "namespace": b.namespace,
                    "delivery": {
                        "retry": b.delivery.retry,
                        "backoffPolicy": b.delivery.backoff_policy,
                        "backoffDelaySeconds": b.delivery.backoff_delay,
                        "timeoutSeconds": b.delivery.timeout,
                        "deadLetterSink": b.delivery.dead_letter_sink.describe()
                        if b.delivery.dead_letter_sink
                        else None,
                    },
                }
                for b in self.brokers.values()
            ],
            "triggers": [r.describe() for routes in self.routes.values() for r in routes],
            "pingSources": [
                {
                    "name": p.name,
                    "namespace": p.namespace,
                    "source": p.source,
                    "schedule": p.schedule,
                    "intervalSeconds": interval if interval > 0 else None,
                    "contentType": p.content_type,
                    "data": p.data.decode(errors="replace") if p.data is not None else None,
                    "sink": p.sink.describe(),
                    "url": resolve(p.sink, self.subscribers),
                }
                for p in self.ping_sources
            ],
        }

    @property
    def in_flight(self) -> int:
        return len(self._tasks)
