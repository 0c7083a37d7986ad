"""Broker, Trigger and PingSource objects, read from the manifests the cluster applies.

Only what the local broker acts on is read; every other kind (a Kustomization,
a Service, a ConfigMap) is skipped, so the broker can be pointed at a whole
folder of manifests. A field it would have to ignore silently is an error instead
(spec.filters, a cron-less PingSource), because a broker that routes differently
from the cluster's without saying so is worse than one that does not start.
"""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger("broker")

BACKOFF_POLICIES = ("exponential", "linear")
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"^P(?:{_NUMBER}W)?(?:{_NUMBER}D)?(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?$"
)
_UNIT_SECONDS = (7 * 86400, 86400, 3600, 60, 1)


class ManifestError(ValueError):
    """A manifest the broker cannot act on the way the cluster would; says file and object."""


def parse_duration(text: str) -> float:
    """Seconds of an ISO-8601 duration (PT0.2S, PT10S, PT1M, P1DT2H); years and months,
    whose length varies, are refused."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or not any(match.groups()) or text.strip().endswith("T"):
        raise ManifestError(f"{text!r} is not an ISO-8601 duration like PT0.2S, PT10S or PT1M")
    return sum(
        float(value.replace(",", ".")) * unit
        for value, unit in zip(match.groups(), _UNIT_SECONDS, strict=True)
        if value
    )


@dataclass(frozen=True)
class Destination:
    """A Knative Destination: a ref to an addressable object, a URI, or both (the URI is
    then relative to the ref's address)."""

    ref_name: str | None = None
    ref_kind: str | None = None
    ref_api_version: str | None = None
    uri: str | None = None

    def describe(self) -> str:
        if self.ref_name:
            ref = f"{self.ref_kind or 'Service'}/{self.ref_name}"
            return f"{ref} + {self.uri}" if self.uri else ref
        return self.uri or "-"


@dataclass(frozen=True)
class DeliverySpec:
    """spec.delivery as written: None where the manifest sets nothing."""

    retry: int | None = None
    backoff_policy: str | None = None
    backoff_delay: float | None = None
    timeout: float | None = None
    dead_letter_sink: Destination | None = None

    def merged_over(self, defaults: DeliverySpec | None) -> DeliverySpec:
        """Each field of this spec, else the same field of `defaults`."""
        if defaults is None:
            return self
        return DeliverySpec(
            **{
                f.name: getattr(defaults, f.name)
                if getattr(self, f.name) is None
                else getattr(self, f.name)
                for f in fields(self)
            }
        )

    def set_fields(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


@dataclass(frozen=True)
class Broker:
    name: str
    namespace: str
    delivery: DeliverySpec = field(default_factory=DeliverySpec)
    origin: str = ""


@dataclass(frozen=True)
class Trigger:
    name: str
    namespace: str
    broker: str
    subscriber: Destination
    filters: dict[str, str] = field(default_factory=dict)
    delivery: DeliverySpec | None = None
    origin: str = ""


@dataclass(frozen=True)
class PingSource:
    name: str
    namespace: str
    schedule: str
    sink: Destination
    data: bytes | None = None
    content_type: str | None = None
    origin: str = ""

    @property
    def source(self) -> str:
        """The CloudEvent source Knative's PingSource adapter sets."""
        return f"/apis/v1/namespaces/{self.namespace}/pingsources/{self.name}"


@dataclass
class Manifests:
    brokers: list[Broker] = field(default_factory=list)
    triggers: list[Trigger] = field(default_factory=list)
    ping_sources: list[PingSource] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def load_manifests(paths: list[Path], default_namespace: str = "default") -> Manifests:
    """Every Broker, Trigger and PingSource in `paths` (files, or folders of *.yaml).

    A folder's kustomization.yaml gives the namespace of its objects that set none,
    as `kubectl apply -k` would.
    """
    result = Manifests()
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
            namespace = _kustomization_namespace(files) or default_namespace
        elif path.is_file():
            files, namespace = [path], default_namespace
        else:
            raise ManifestError(f"{path}: no such manifest file or folder")
        for file in files:
            result.files.append(file)
            _load_file(file, namespace, result)
    if not result.brokers:
        raise ManifestError(f"no Broker in {', '.join(map(str, paths))}")
    names = [b.name for b in result.brokers]
    if len(set(names)) != len(names):
        raise ManifestError(f"two Brokers with the same name: {names}")
    return result


def _kustomization_namespace(files: list[Path]) -> str | None:
    for file in files:
        if file.stem == "kustomization":
            for doc in _documents(file):
                if isinstance(doc, dict) and isinstance(doc.get("namespace"), str):
                    return doc["namespace"]
    return None


def _documents(file: Path) -> list[Any]:
    try:
        return [doc for doc in yaml.safe_load_all(file.read_text()) if doc is not None]
    except yaml.YAMLError as error:
        raise ManifestError(f"{file}: not valid YAML: {error}") from None


def _load_file(file: Path, namespace: str, into: Manifests) -> None:
    for number, doc in enumerate(_documents(file), start=1):
        if not isinstance(doc, dict):
            raise ManifestError(f"{file}, document {number}: not a mapping")
        kind, api = doc.get("kind"), str(doc.get("apiVersion", ""))
        metadata = doc.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        where = f"{file}, document {number} ({kind or 'no kind'} {name or 'without a name'})"
        try:
            if kind == "Broker" and api.startswith("eventing.knative.dev/"):
                into.brokers.append(_broker(doc, namespace, where))
            elif kind == "Trigger" and api.startswith("eventing.knative.dev/"):
                into.triggers.append(_trigger(doc, namespace, where))
            elif kind == "PingSource" and api.startswith("sources.knative.dev/"):
                into.ping_sources.append(_ping_source(doc, namespace, where))
            else:
                log.debug("%s: %s %s is not the broker's, skipped", file, api, kind)
        except ManifestError as error:
            raise ManifestError(f"{where}: {error}") from None


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ManifestError(f"{what} must be a mapping")
    return value


def _metadata(doc: dict[str, Any], namespace: str) -> tuple[str, str]:
    metadata = _mapping(doc.get("metadata"), "metadata")
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise ManifestError("metadata.name is missing")
    return name, str(metadata.get("namespace") or namespace)


def _broker(doc: dict[str, Any], namespace: str, where: str) -> Broker:
    name, ns = _metadata(doc, namespace)
    spec = _mapping(doc.get("spec"), "spec")
    return Broker(name, ns, _delivery(spec.get("delivery")) or DeliverySpec(), where)


def _trigger(doc: dict[str, Any], namespace: str, where: str) -> Trigger:
    name, ns = _metadata(doc, namespace)
    spec = _mapping(doc.get("spec"), "spec")
    if "filters" in spec:
        raise ManifestError(
            "spec.filters (the new filter dialects) is not supported by the local broker; "
            "use spec.filter.attributes"
        )
    broker = spec.get("broker")
    if not isinstance(broker, str) or not broker:
        raise ManifestError("spec.broker is missing")
    attributes = _mapping(_mapping(spec.get("filter"), "spec.filter").get("attributes"), "filter")
    for key, value in attributes.items():
        if not isinstance(value, str):
            raise ManifestError(f"spec.filter.attributes.{key} must be a string, not {value!r}")
    subscriber = _destination(spec.get("subscriber"), "spec.subscriber")
    if subscriber is None:
        raise ManifestError("spec.subscriber is missing")
    return Trigger(
        name=name,
        namespace=ns,
        broker=broker,
        subscriber=subscriber,
        filters={str(k): v for k, v in attributes.items()},
        delivery=_delivery(spec.get("delivery")),
        origin=where,
    )


def _ping_source(doc: dict[str, Any], namespace: str, where: str) -> PingSource:
    name, ns = _metadata(doc, namespace)
    spec = _mapping(doc.get("spec"), "spec")
    sink = _destination(spec.get("sink"), "spec.sink")
    if sink is None:
        raise ManifestError("spec.sink is missing")
    if "data" in spec and "dataBase64" in spec:
        raise ManifestError("spec.data and spec.dataBase64 are exclusive")
    data: bytes | None = None
    if isinstance(spec.get("data"), str):
        data = spec["data"].encode()
    elif isinstance(spec.get("dataBase64"), str):
        data = base64.b64decode(spec["dataBase64"])
    return PingSource(
        name=name,
        namespace=ns,
        schedule=str(spec.get("schedule", "")),
        sink=sink,
        data=data,
        content_type=spec.get("contentType") or None,
        origin=where,
    )


def _destination(value: Any, what: str) -> Destination | None:
    if value is None:
        return None
    value = _mapping(value, what)
    ref = _mapping(value.get("ref"), f"{what}.ref")
    uri = value.get("uri")
    if not ref and not uri:
        raise ManifestError(f"{what} needs a ref or a uri")
    if ref and not ref.get("name"):
        raise ManifestError(f"{what}.ref.name is missing")
    return Destination(
        ref_name=ref.get("name"),
        ref_kind=ref.get("kind"),
        ref_api_version=ref.get("apiVersion"),
        uri=str(uri) if uri else None,
    )


def _delivery(value: Any) -> DeliverySpec | None:
    if value is None:
        return None
    spec = _mapping(value, "spec.delivery")
    retry = spec.get("retry")
    if retry is not None and (not isinstance(retry, int) or isinstance(retry, bool) or retry < 0):
        raise ManifestError(f"delivery.retry must be a whole number >= 0, not {retry!r}")
    policy = spec.get("backoffPolicy")
    if policy is not None and policy not in BACKOFF_POLICIES:
        raise ManifestError(f"delivery.backoffPolicy must be one of {BACKOFF_POLICIES}")
    timeout = _optional_duration(spec.get("timeout"))
    if timeout is not None and timeout <= 0:
        raise ManifestError("delivery.timeout must be longer than zero")
    return DeliverySpec(
        retry=retry,
        backoff_policy=policy,
        backoff_delay=_optional_duration(spec.get("backoffDelay")),
        timeout=timeout,
        dead_letter_sink=_destination(spec.get("deadLetterSink"), "delivery.deadLetterSink"),
    )


def _optional_duration(value: Any) -> float | None:
    return None if value is None else parse_duration(value)
