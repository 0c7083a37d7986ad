"""The broker itself: ingest an event, route it to the matching triggers, deliver to each.

`EventBroker` ties the pieces together and owns their lifecycle (start, a
graceful stop):

    routing.py       which triggers an event goes to, where and how each delivers
    capacity.py      the bound on deliveries in flight per subscriber (503 when full)
    delivery.py      one delivery: attempts, backoff, what counts as done
    dead_letters.py  what becomes of a delivery that failed for good
    stats.py         the counts and the delivery lag (GET /stats)
    metrics.py       the same for Prometheus (GET /metrics), and the queue depth
    tracing.py       the spans of an event, children of the trace context it carries
    ping.py          the PingSources, emulated on a fixed interval

Each matching trigger gets its own delivery, running on its own (fan-out), so
a slow or failing subscriber never holds up another. Events live in memory
only, as in Knative's in-memory channel: what is still being delivered when
the process stops is lost after a grace period (the saga's re-drive is what
recovers from that, as on the cluster).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

import certifi
import httpx
from cloudevents.core.base import BaseCloudEvent
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from functions.broker import metrics, tracing, wire_format
from functions.broker.capacity import OverCapacity, SubscriberLoad
from functions.broker.clients import ClientPerDestination
from functions.broker.dead_letters import DeadLetters
from functions.broker.delivery import DEFAULT_TIMEOUT, Attempt, Sender
from functions.broker.manifests import Broker, Manifests
from functions.broker.ping import PingEmitter, describe_ping_source
from functions.broker.routing import Route, Routing
from functions.broker.settings import BrokerSettings
from functions.broker.stats import Stats

log = logging.getLogger("broker")


class EventBroker:
    """Every Broker of the manifests, their triggers, the PingSources, one event loop."""

    def __init__(self, manifests: Manifests, settings: BrokerSettings) -> None:
        self.settings = settings
        self.routing = Routing(
            manifests,
            settings.broker_subscribers,
            settings.broker_backoff_jitter,
            settings.broker_backoff_cap,
        )
        self.ping_sources = manifests.ping_sources
        self.stats = Stats()
        self.dead_letters = DeadLetters(settings.dead_letter_file)
        self.load = SubscriberLoad(settings.broker_subscriber_capacity)
        self.accepting = False
        self._tasks: dict[asyncio.Task[None], str] = {}
        self._clients: ClientPerDestination | None = None
        self._sender: Sender | None = None
        self._ping: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
        # httpx's default for every client, made once: loading the CA bundle for each
        # client took 0.3 s of a busy machine, in the first delivery to a subscriber.
        tls = ssl.create_default_context(cafile=certifi.where())
        self._clients = ClientPerDestination(
            lambda: httpx.AsyncClient(limits=limits, timeout=DEFAULT_TIMEOUT, verify=tls)
        )
        routes = self.routing.all_routes()
        sinks = [self.routing.resolve(p.sink) for p in self.ping_sources]
        self._clients.prepare(
            filter(None, [*(r.url for r in routes), *(r.dead_letter_url for r in routes), *sinks])
        )
        self._sender = Sender(self._clients)
        self.accepting = True
        for name, routes in self.routing.routes.items():
            log.info(
                "broker %s: %d trigger(s): %s",
                name,
                len(routes),
                ", ".join(f"{r.name}->{r.url or 'UNRESOLVED'}" for r in routes) or "-",
            )
        sinks = {
            r.dead_letter_sink.describe()
            for r in self.routing.all_routes()
            if r.dead_letter_sink and not r.dead_letter_url
        }
        for sink in sorted(sinks):
            log.info("dead-letter sink %s has no URL: dead letters stay in /dead-letters", sink)
        interval = self.settings.ping_interval
        if self.ping_sources and interval > 0:
            emitter = PingEmitter(
                sources=[(p, self.routing.resolve(p.sink)) for p in self.ping_sources],
                interval=interval,
                policy=self.routing.default_policy(),
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
        if self._clients is not None:
            await self._clients.aclose()
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

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def unresolved(self) -> list[str]:
        """Subscribers (and, while pings run, ping sinks) without a local URL."""
        missing = self.routing.unresolved()
        if self.settings.ping_interval > 0:
            missing += [
                f"pingsource {p.name}: {p.sink.describe()}"
                for p in self.ping_sources
                if self.routing.resolve(p.sink) is None
            ]
        return missing

    # -- ingress and fan-out --------------------------------------------------------------

    def ingest(self, event: BaseCloudEvent, broker: Broker, origin: str = "http") -> int:
        """Accept one event into `broker`: one delivery per matching trigger; their number.
        Raises OverCapacity, accepting nothing, when a subscriber it goes to is full."""
        received = time.monotonic()
        # Knative's ingress stamps every event it accepts with its arrival time.
        arrival = wire_format.attribute_text(datetime.now(UTC))
        event = wire_format.with_extensions(event, {"knativearrivaltime": arrival})
        matching = self.routing.matching(event, broker)
        with tracing.start_span(
            f"receive {event.get_type()}",
            tracing.event_context(event),  # a reply's: the span of the step that made it
            SpanKind.CONSUMER,
            **tracing.event_attributes(event),
            **{"messaging.operation.type": "receive", "messaging.destination.name": broker.name},
        ):
            return self._accept(event, broker, origin, matching, received)

    def _accept(
        self,
        event: BaseCloudEvent,
        broker: Broker,
        origin: str,
        matching: list[Route],
        received: float,
    ) -> int:
        """Refuse the event if a subscriber is full, else spawn its deliveries (in the
        receive span, their parent)."""
        for route in matching:
            if self.load.full(route.load_key):
                self.stats.add("refused", route.name)
                log.warning(
                    "refused type=%s id=%s from=%s: trigger %s's subscriber %s is full (%d)",
                    event.get_type(),
                    event.get_id(),
                    origin,
                    route.name,
                    route.load_key,
                    self.load.capacity,
                )
                raise OverCapacity(route.load_key, self.load.capacity)
        self.stats.add("ingested")
        metrics.EVENTS_INGESTED.labels(event.get_type()).inc()
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
        parent = tracing.here()  # the receive span: every delivery's attempts go under it
        for route in matching:
            what = f"delivery of {event.get_type()} {event.get_id()} to trigger {route.name}"
            self.load.take(route.load_key)
            metrics.QUEUE_DEPTH.inc()
            self.spawn(self._deliver(route, broker, event, received, parent), what)
        return len(matching)

    def _accept_reply(self, reply: BaseCloudEvent, broker: Broker, route: Route) -> bool:
        try:
            self.ingest(reply, broker, origin=f"reply:{route.name}")
        except OverCapacity:
            return False
        return True

    async def _deliver(
        self, route: Route, broker: Broker, event: BaseCloudEvent, received: float, parent: Context
    ) -> None:
        try:
            await self._deliver_once(route, broker, event, received, parent)
        finally:
            self.load.release(route.load_key)
            metrics.QUEUE_DEPTH.dec()

    async def _deliver_once(
        self, route: Route, broker: Broker, event: BaseCloudEvent, received: float, parent: Context
    ) -> None:
        if route.url is None:
            text = f"subscriber {route.trigger.subscriber.describe()} has no URL"
            last = Attempt(0, 0, False, "unresolved", text)
            await self._dead_letter(route, event, last, 0, parent)
            return
        assert self._sender is not None
        result = await self._sender.deliver(
            event,
            route.url,
            route.policy,
            f"trigger={route.name}",
            accept_reply=lambda reply: self._accept_reply(reply, broker, route),
            parent=parent,
            trigger=route.name,
        )
        self.stats.add("attempts", route.name, result.attempts)
        self.stats.add("retried", route.name, result.attempts - 1)
        metrics.RETRIES.labels(route.name).inc(result.attempts - 1)
        if not result.delivered:
            await self._dead_letter(route, event, result.last, result.attempts, parent)
            return
        self.stats.add("delivered", route.name)
        metrics.DELIVERIES.labels(route.name, "delivered").inc()
        lag = result.last.finished - received
        self.stats.lags_ms.append(lag * 1000)
        metrics.DELIVERY_LAG.labels(route.name).observe(lag)
        if result.reply is not None:  # already ingested by _accept_reply
            self.stats.add("replies", route.name)

    async def _dead_letter(
        self, route: Route, event: BaseCloudEvent, last: Attempt, attempts: int, parent: Context
    ) -> None:
        self.stats.add("dead_lettered", route.name)
        metrics.DELIVERIES.labels(route.name, "dead_lettered").inc()
        metrics.DEAD_LETTERS.labels(route.name).inc()
        await self.dead_letters.take(route, event, last, attempts, self._sender, parent)

    # -- views ----------------------------------------------------------------------------

    def wiring(self) -> dict[str, Any]:
        """What the manifests came to, resolved (GET /triggers)."""
        interval = self.settings.ping_interval
        return {
            **self.routing.describe(),
            "pingSources": [
                describe_ping_source(p, self.routing.resolve(p.sink), interval)
                for p in self.ping_sources
            ],
        }
