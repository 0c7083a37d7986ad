"""One delivery of one event to one subscriber: attempts, backoff, and what counts as done.

The rules are Knative's dispatcher's, so a function that behaves here behaves on
the cluster:

- The event goes as an HTTP POST in binary mode (ce-* headers, data as body).
- A 2xx with an empty body is delivered. A 2xx carrying a CloudEvent (binary or
  structured) is delivered, and that event is the reply, which the broker ingests
  like a new event. A 2xx with any other body is a failure: Knative's broker
  rejects a reply it cannot read as a CloudEvent (and reports it as 502), so a
  function that answers with plain text would be redelivered on the cluster.
- Anything else (non-2xx, a refused connection, no answer within `timeout`) is
  a failed attempt. Only what Knative retries is retried (see `retryable`); any
  other failure is a dead letter at once. After the first attempt come up to
  `retry` retries, the n-th (n = 0, 1, ...) after waiting backoffDelay * 2^n
  (exponential) or backoffDelay * n (linear): Knative's retry count starts at
  zero too, so a linear policy retries the first time at once.
- Two things Knative's dispatcher does not do, added here: each wait is
  stretched by a random share of up to `jitter` (so events that failed together
  do not all come back at the same instant), and no wait exceeds `cap` seconds.

Given the event's trace context (`parent`, functions/broker/tracing.py), each
attempt is a client span ("send <type>": trigger, subscriber, attempt number,
status; a failed attempt is an error) whose `traceparent` goes with the POST,
and each wait before a retry is a span ("retry wait") too.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import httpx
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import HTTPMessage
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from functions.broker import tracing, wire_format
from functions.broker.clients import ClientPerDestination

log = logging.getLogger("broker")

# When neither the trigger nor the broker sets them. Knative retries nothing unless
# told to; a request without a timeout would hold a delivery forever.
DEFAULT_RETRY = 0
DEFAULT_BACKOFF_POLICY = "exponential"
DEFAULT_BACKOFF_DELAY = 0.2
DEFAULT_TIMEOUT = 60.0
DEFAULT_JITTER = 0.2  # a wait is stretched by up to this share, at random
DEFAULT_BACKOFF_CAP = 30.0  # seconds; no wait between attempts is longer
ERROR_DATA_MAX = 1024  # Knative's limit for knativeerrordata (base64 characters)
NOT_AN_EVENT_CODE = 502  # what Knative's broker answers for a 2xx with a non-event body
REPLY_REFUSED_CODE = 429  # the broker itself had no room for the subscriber's reply
# The 4xx that Knative's dispatcher retries, as its SelectiveRetry (knative/eventing,
# pkg/kncloudevents/retries.go) decides: a response with a status >= 500, 404 (a pod
# still becoming ready), 408, 409 or 429, and any attempt without a response at all
# (a refused or reset connection, a timeout). Every other status (1xx-3xx, other 4xx
# such as 400) is final: the event goes to the dead letters without another attempt.
RETRIED_4XX = frozenset({404, 408, 409, 429})


def retryable(code: int) -> bool:
    """Whether Knative retries an attempt that ended with `code` (0: no HTTP answer)."""
    return code == 0 or code >= 500 or code in RETRIED_4XX


@dataclass(frozen=True)
class Policy:
    """The delivery settings in force for one trigger, every field decided."""

    retry: int = DEFAULT_RETRY
    backoff_policy: str = DEFAULT_BACKOFF_POLICY
    backoff_delay: float = DEFAULT_BACKOFF_DELAY
    timeout: float = DEFAULT_TIMEOUT
    jitter: float = DEFAULT_JITTER
    cap: float = DEFAULT_BACKOFF_CAP

    def backoff(self, retries_done: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait before the retry that follows `retries_done` earlier retries:
        Knative's delay, stretched by a random share in [0, jitter), never over `cap`."""
        if self.backoff_policy == "linear":
            delay = self.backoff_delay * retries_done
        else:
            delay = self.backoff_delay * 2 ** min(retries_done, 64)
        return min(self.cap, delay * (1 + self.jitter * rng()))


@dataclass
class Attempt:
    """What one POST came to. `code` is the HTTP status, 0 when there was none."""

    number: int
    code: int
    ok: bool
    outcome: str  # for the log line: "204", "200 reply shop.x", "500", "timeout", ...
    error: str | None = None
    body: bytes = b""
    reply: BaseCloudEvent | None = None
    millis: float = 0.0
    finished: float = 0.0  # time.monotonic() when the answer came


@dataclass
class Result:
    delivered: bool
    attempts: int
    last: Attempt

    @property
    def reply(self) -> BaseCloudEvent | None:
        return self.last.reply if self.delivered else None


def error_extensions(destination: str, attempt: Attempt) -> dict[str, object]:
    """Knative's dead-letter extensions: where it failed, the status, a piece of the body."""
    data = base64.b64encode(attempt.body).decode()[:ERROR_DATA_MAX]
    return {
        "knativeerrordest": destination,
        "knativeerrorcode": attempt.code,
        "knativeerrordata": data,
    }


class Sender:
    """POSTs events with retries; one per broker, sharing a connection pool.

    `sleep` waits between attempts: asyncio's unless given (a test passes one that
    records the backoff instead of waiting it out).
    """

    def __init__(
        self,
        client: httpx.AsyncClient | ClientPerDestination,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.sleep = sleep

    async def attempt(self, url: str, message: HTTPMessage, timeout: float, number: int) -> Attempt:
        """One POST, classified; never raises for anything the subscriber does."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                response = await self.client.post(
                    url, headers=message.headers, content=message.body, timeout=timeout
                )
        except TimeoutError:
            text = f"no answer within {timeout:g}s"
            return self._done(Attempt(number, 0, False, "timeout", text, text.encode()), started)
        except httpx.HTTPError as error:
            text = f"{type(error).__name__}: {error}".rstrip(": ")
            outcome = text if len(text) <= 120 else text[:117] + "..."
            return self._done(Attempt(number, 0, False, outcome, text, text.encode()), started)
        code, body = response.status_code, response.content
        if not 200 <= code < 300:
            attempt = Attempt(number, code, False, str(code), f"HTTP {code}", body)
            return self._done(attempt, started)
        headers = dict(response.headers)
        if wire_format.looks_like_event(headers):
            try:
                reply = wire_format.parse(headers, body)
            except wire_format.InvalidEvent as error:
                text = f"HTTP {code} with a broken CloudEvent reply: {error}"
                attempt = Attempt(number, NOT_AN_EVENT_CODE, False, f"{code} bad-reply", text, body)
                return self._done(attempt, started)
            outcome = f"{code} reply {reply.get_type()}"
            return self._done(Attempt(number, code, True, outcome, body=body, reply=reply), started)
        if body:
            text = f"HTTP {code} with a body that is not a CloudEvent"
            attempt = Attempt(number, NOT_AN_EVENT_CODE, False, f"{code} not-an-event", text, body)
            return self._done(attempt, started)
        return self._done(Attempt(number, code, True, str(code)), started)

    @staticmethod
    def _done(attempt: Attempt, started: float) -> Attempt:
        attempt.millis = (time.perf_counter() - started) * 1000
        attempt.finished = time.monotonic()
        return attempt

    async def deliver(
        self,
        event: BaseCloudEvent,
        url: str,
        policy: Policy,
        label: str,
        accept_reply: Callable[[BaseCloudEvent], bool] | None = None,
        parent: Context | None = None,
        trigger: str = "",
    ) -> Result:
        """Attempt until delivered, retries are exhausted or a failure is not retryable,
        logging every attempt. A reply that `accept_reply` refuses (the broker has no
        room for it) fails the attempt, as Knative's does when its ingress refuses it.
        With `parent`, every attempt and wait is a span under it (see the module)."""
        message = wire_format.to_binary_message(event)
        total = policy.retry + 1
        attempt: Attempt | None = None
        for number in range(1, total + 1):
            if number > 1:
                await self._wait(policy.backoff(number - 2), parent, trigger, number)
            with self._attempt_span(event, url, trigger, number, parent) as span:
                headers = message.headers | tracing.traceparent_headers()
                sent = HTTPMessage(headers=headers, body=message.body)
                attempt = await self.attempt(url, sent, policy.timeout, number)
                reply = attempt.reply if attempt.ok else None
                if reply is not None and accept_reply is not None and not accept_reply(reply):
                    text = f"reply {reply.get_type()} refused: the broker is over capacity"
                    attempt.ok, attempt.code, attempt.error = False, REPLY_REFUSED_CODE, text
                    attempt.outcome = f"{attempt.outcome} refused"
                log.info(
                    "delivery type=%s subject=%s id=%s %s subscriber=%s attempt=%d/%d "
                    "outcome=%s ms=%.1f",
                    event.get_type(),
                    event.get_subject() or "-",
                    event.get_id(),
                    label,
                    url,
                    number,
                    total,
                    attempt.outcome,
                    attempt.millis,
                )
                _record(span, attempt)
            if attempt.ok:
                return Result(True, number, attempt)
            if not retryable(attempt.code):
                return Result(False, number, attempt)
        assert attempt is not None
        return Result(False, total, attempt)

    @staticmethod
    def _attempt_span(
        event: BaseCloudEvent, url: str, trigger: str, number: int, parent: Context | None
    ) -> AbstractContextManager[Span | None]:
        if parent is None:
            return nullcontext()
        attributes = tracing.event_attributes(event) | {
            tracing.TRIGGER: trigger,
            tracing.SUBSCRIBER: url,
            tracing.ATTEMPT: number,
            "messaging.operation.type": "send",
        }
        return tracing.tracer().start_as_current_span(
            f"send {event.get_type()}",
            context=parent,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=True,
        )

    async def _wait(self, seconds: float, parent: Context | None, trigger: str, number: int):
        """The backoff before attempt `number`: a span of its own when traced."""
        if parent is None:
            await self.sleep(seconds)
            return
        attributes = {tracing.TRIGGER: trigger, "broker.backoff_seconds": seconds}
        attributes[tracing.ATTEMPT] = number
        with tracing.tracer().start_as_current_span(
            "retry wait", context=parent, attributes=attributes
        ):
            await self.sleep(seconds)


def _record(span: Span | None, attempt: Attempt) -> None:
    """An attempt's outcome on its span: the status, and an error when it failed."""
    if span is None:
        return
    if attempt.code:
        span.set_attribute(tracing.STATUS, attempt.code)
    span.set_attribute("broker.outcome", attempt.outcome)
    if not attempt.ok:
        span.set_status(Status(StatusCode.ERROR, attempt.error or attempt.outcome))
