"""Routing: which triggers an event goes to, and where and how each delivers it.

The manifests' Brokers and Triggers come here resolved: a trigger's subscriber
to a local URL (BROKER_SUBSCRIBERS), its delivery settings to a `Policy` (the
trigger's own fields, the broker's for the rest).

Matching is Knative's attribute filter: every attribute named in
spec.filter.attributes must equal the event's (type, source, subject or any
extension, compared as header text); an empty value matches anything, and a
trigger without a filter gets every event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from cloudevents.core.base import BaseCloudEvent

from functions.broker import wire_format
from functions.broker.delivery import (
    DEFAULT_BACKOFF_CAP,
    DEFAULT_BACKOFF_DELAY,
    DEFAULT_BACKOFF_POLICY,
    DEFAULT_JITTER,
    DEFAULT_RETRY,
    DEFAULT_TIMEOUT,
    Policy,
)
from functions.broker.manifests import Broker, DeliverySpec, Destination, Manifests, Trigger

log = logging.getLogger("broker")

# DeliverySpec's fields as the manifests spell them (for the log and GET /triggers).
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
    """A delivery spec with every field decided: Knative's defaults where it sets none."""
    return Policy(
        retry=DEFAULT_RETRY if spec.retry is None else spec.retry,
        backoff_policy=spec.backoff_policy or DEFAULT_BACKOFF_POLICY,
        backoff_delay=DEFAULT_BACKOFF_DELAY if spec.backoff_delay is None else spec.backoff_delay,
        timeout=spec.timeout or DEFAULT_TIMEOUT,
        jitter=jitter,
        cap=cap,
    )


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


class Routing:
    """Every Broker of the manifests with its triggers, resolved to routes."""

    def __init__(
        self,
        manifests: Manifests,
        subscribers: dict[str, str],
        jitter: float = DEFAULT_JITTER,
        cap: float = DEFAULT_BACKOFF_CAP,
    ) -> None:
        self.subscribers = subscribers
        self.jitter = jitter
        self.cap = cap
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
            url=self.resolve(trigger.subscriber),
            policy=self.policy(spec),
            dead_letter_sink=spec.dead_letter_sink,
            dead_letter_url=self.resolve(spec.dead_letter_sink),
            inherited=inherited,
        )

    def resolve(self, destination: Destination | None) -> str | None:
        return resolve(destination, self.subscribers)

    def policy(self, spec: DeliverySpec) -> Policy:
        return policy_of(spec, self.jitter, self.cap)

    def default_policy(self) -> Policy:
        """The first broker's delivery settings (what the PingSources are sent with)."""
        return self.policy(next(iter(self.brokers.values())).delivery)

    def find(self, name: str | None) -> Broker | None:
        """A broker by name; without a name, the only one (or the first of several)."""
        if name is None:
            return next(iter(self.brokers.values()))
        return self.brokers.get(name)

    def all_routes(self) -> list[Route]:
        return [route for routes in self.routes.values() for route in routes]

    def matching(self, event: BaseCloudEvent, broker: Broker) -> list[Route]:
        """The routes of `broker` whose filter the event passes: one delivery each."""
        return [route for route in self.routes[broker.name] if route.matches(event)]

    def unresolved(self) -> list[str]:
        """The triggers whose subscriber has no local URL."""
        return [
            f"trigger {r.name}: {r.trigger.subscriber.describe()}"
            for r in self.all_routes()
            if r.url is None
        ]

    def describe(self) -> dict[str, Any]:
        """The brokers and their triggers, resolved (part of GET /triggers)."""
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
            "triggers": [r.describe() for r in self.all_routes()],
        }
