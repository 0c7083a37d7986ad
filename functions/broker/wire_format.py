"""CloudEvents in and out of HTTP messages, with the cloudevents SDK doing the parsing.

Three things the broker needs that the SDK's defaults do not give:

- Strictness. The SDK fills in a missing id, specversion and time, which is
  right for a producer and wrong for a broker's ingress: an event without an id
  cannot be deduplicated downstream. So the event factory handed to the SDK
  refuses an event whose required attributes are absent, and does not invent a
  time the producer never set.
- Untouched data. A broker forwards data; it does not re-encode it. The format
  keeps a binary-mode body as the exact bytes received, and writes JSON values
  (lists and numbers too, which the SDK's writer would turn into Python reprs)
  as JSON.
- Mode detection that tells "not a CloudEvent" from "a broken one": binary mode
  has ce-* headers, structured mode has application/cloudevents+json; anything
  else, such as a plain reply body, is not an event at all.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.common import get_event_factory_for_version
from cloudevents.core.bindings.http import HTTPMessage, from_http, to_binary
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat

STRUCTURED = "application/cloudevents+json"
REQUIRED = ("id", "source", "type", "specversion")


class InvalidEvent(ValueError):
    """The message is not a valid CloudEvent; the text says why (for a 400 or a log line)."""


class _PassThroughFormat(JSONFormat):
    """JSON event format that keeps binary-mode data as the bytes received."""

    def read_data(self, body: bytes, datacontenttype: str | None) -> bytes | None:
        return bytes(body) or None

    def write_data(self, data: Any, datacontenttype: str | None) -> bytes:
        if data is None:
            return b""
        if isinstance(data, bytes | bytearray):
            return bytes(data)
        if isinstance(data, str):
            return data.encode()
        return json.dumps(data, separators=(",", ":")).encode()


FORMAT = _PassThroughFormat()


def make_event(attributes: dict[str, Any], data: Any = None) -> BaseCloudEvent:
    """A CloudEvent of the attributes' specversion, without a time the attributes lack."""
    attributes = dict(attributes)
    had_time = "time" in attributes
    event = get_event_factory_for_version(str(attributes.get("specversion", "1.0")))(
        attributes, data
    )
    if not had_time:
        event.get_attributes().pop("time", None)  # the SDK's default; not the producer's
    return event


def _strict_factory(attributes: dict[str, Any], data: Any) -> BaseCloudEvent:
    missing = [name for name in REQUIRED if not attributes.get(name)]
    if missing:
        raise InvalidEvent(f"missing required attribute(s): {', '.join(missing)}")
    return make_event(attributes, data)


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def looks_like_event(headers: dict[str, str]) -> bool:
    """Binary mode (a ce-* header) or structured mode (the CloudEvents JSON media type)."""
    lowered = _lower(headers)
    media_type = lowered.get("content-type", "").split(";")[0].strip().lower()
    return media_type == STRUCTURED or any(name.startswith("ce-") for name in lowered)


def parse(headers: dict[str, str], body: bytes) -> BaseCloudEvent:
    """The CloudEvent of an HTTP message in binary or structured mode; InvalidEvent if none."""
    lowered = _lower(headers)
    if not looks_like_event(lowered):
        raise InvalidEvent(
            "not a CloudEvent: send ce-* headers (binary mode) or "
            f"Content-Type: {STRUCTURED} (structured mode)"
        )
    try:
        return from_http(HTTPMessage(headers=lowered, body=body), FORMAT, _strict_factory)
    except InvalidEvent:
        raise
    except (BaseCloudEventException, ValueError, TypeError, AttributeError, KeyError) as error:
        raise InvalidEvent(f"not a valid CloudEvent: {error}") from None


def to_binary_message(event: BaseCloudEvent) -> HTTPMessage:
    """The event in binary mode: attributes as ce-* headers, data as the body."""
    return to_binary(event, FORMAT)


def attribute_text(value: Any) -> str:
    """An attribute as text, the way it travels in a ce-* header (what filters compare)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return str(value)


def with_extensions(event: BaseCloudEvent, extensions: dict[str, Any]) -> BaseCloudEvent:
    return make_event(event.get_attributes() | extensions, event.get_data())


def describe(event: BaseCloudEvent) -> dict[str, Any]:
    """The event as JSON for people: attributes, and data decoded where it is text or JSON."""
    attributes = event.get_attributes()
    view: dict[str, Any] = {
        name: value if isinstance(value, int | str) else attribute_text(value)
        for name, value in attributes.items()
    }
    data = event.get_data()
    if isinstance(data, bytes | bytearray):
        content_type = str(attributes.get("datacontenttype") or "application/json")
        try:
            text = bytes(data).decode()
        except UnicodeDecodeError:
            view["data_base64"] = base64.b64encode(data).decode()
            return view
        if JSONFormat.JSON_CONTENT_TYPE_PATTERN.match(content_type):
            try:
                view["data"] = json.loads(text)
            except ValueError:
                view["data"] = text
        else:
            view["data"] = text
    elif data is not None:
        view["data"] = data
    return view
