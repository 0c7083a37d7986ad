"""The functions' publisher against a busy broker: bounded retries, then an error."""

from __future__ import annotations

import httpx
import pytest

from functions.runtime import saga_events


def _client(statuses: list[int], seen: list[int]) -> httpx.Client:
    """A client whose broker answers `statuses` in turn (the last one from then on)."""

    def answer(_request: httpx.Request) -> httpx.Response:
        status = statuses[min(len(seen), len(statuses) - 1)]
        seen.append(status)
        headers = {"retry-after": "7"} if status in (429, 503) else {}
        return httpx.Response(status, headers=headers)

    return httpx.Client(transport=httpx.MockTransport(answer))


def _event():
    return saga_events.new_event(
        saga_events.ORDER_PLACED, "ord_test", {"order_id": "ord_test"}, "test"
    )


@pytest.mark.parametrize("busy", [429, 503])
def test_a_busy_broker_is_asked_again_after_its_retry_after(busy: int):
    seen: list[int] = []
    waits: list[float] = []
    with _client([busy, busy, 202], seen) as client:
        saga_events.publish(client, "http://broker/", _event(), sleep=waits.append)
    assert seen == [busy, busy, 202]
    assert waits == [saga_events.RETRY_AFTER_MAX] * 2  # Retry-After: 7, capped


def test_a_broker_busy_for_too_long_is_an_error_for_the_re_drive():
    seen: list[int] = []
    waits: list[float] = []
    with _client([503], seen) as client, pytest.raises(httpx.HTTPStatusError):
        saga_events.publish(client, "http://broker/", _event(), sleep=waits.append)
    assert len(seen) == saga_events.PUBLISH_ATTEMPTS
    assert len(waits) == saga_events.PUBLISH_ATTEMPTS - 1


def test_a_refused_event_is_not_sent_again():
    seen: list[int] = []
    with _client([400], seen) as client, pytest.raises(httpx.HTTPStatusError):
        saga_events.publish(client, "http://broker/", _event(), sleep=lambda _s: None)
    assert seen == [400]


@pytest.mark.parametrize(
    ("header", "seconds"), [(None, 1.0), ("0", 0.1), ("1.5", 1.5), ("99", 2.0), ("soon", 1.0)]
)
def test_retry_after_is_read_within_bounds(header: str | None, seconds: float):
    assert saga_events.retry_after(header) == seconds
