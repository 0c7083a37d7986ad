"""The local broker with real processes over real HTTP: Knative's Broker and Trigger rules.

One broker and one fake subscriber (tests/functions/fake_subscriber.py) serve the
module, wired by tests/functions/manifests/ (tiny backoff delays) plus one
generated manifest with an absolute subscriber.uri. Every test sends events with
ids of its own and looks only at those, so the tests do not disturb each other.
Two more brokers are started for one test each: one on the real k8s/functions
manifests, one to be stopped gracefully.

No test depends on how fast the machine is: a check of an outcome polls until a
generous deadline, a check that something did NOT happen waits first for the broker
to say it is over (the routing decision in its log, the dead letter recorded after
the last attempt), deliveries that must stay in flight are held at a gate of the fake
subscriber until the test opens it, and timings are bounded from below only (the
exact schedules are checked on a fake clock in test_broker_timing.py).
"""

from __future__ import annotations

import base64
import json
import random
import re
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from cloudevents.core.bindings.http import to_binary_event, to_structured_event
from cloudevents.core.v1.event import CloudEvent

from functions.broker.delivery import Policy, retryable
from functions.runtime.saga_events import publish
from stages.launcher import ROOT, FileSink, Launcher, LaunchError, ProcessSpec, free_port
from tests.functions.log_reading import messages
from tests.support.waiting import eventually

T = TypeVar("T")

MANIFESTS = "tests/functions/manifests"
PING_INTERVAL = 0.5


def broker_spec(port: int, env: dict[str, str], ready_path: str = "/readyz") -> ProcessSpec:
    argv = [sys.executable, "-m", "uvicorn", "--factory", "functions.broker.app:create_app"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    return ProcessSpec("broker", argv, port, env=env, ready_path=ready_path)


def fake_routes(fake: str) -> dict[str, str]:
    """BROKER_SUBSCRIBERS of the test manifests: each Service to a behaviour of the fake."""
    return {
        "ok-a": f"{fake}/ok/a",
        "ok-b": f"{fake}/ok/b",
        "ok-base": f"{fake}/ok/",
        "status": f"{fake}/status/",
        "flaky": f"{fake}/flaky/2",
        "fail": f"{fake}/fail",
        "dls": f"{fake}/ok/dls",
        "plain": f"{fake}/plain",
        "replier": f"{fake}/reply/test.answer",
        "structured-replier": f"{fake}/reply-structured/test.answer",
        "answers": f"{fake}/ok/answer",
        "slow": f"{fake}/slow/1.5",
        "lingering": f"{fake}/slow/0.8",
        "ping-sink": f"{fake}/ok/ping",
    }


@dataclass
class Stage:
    broker: httpx.Client
    fake: httpx.Client
    fake_url: str
    log: Path
    dead_letter_file: Path
    started: float  # time.time() before the broker was started
    traces_dir: Path  # the broker's spans (OTLP JSON lines)

    def received(self, path: str, event_id: str | None = None) -> list[dict[str, Any]]:
        records = self.fake.get("/received", params={"path": path}).json()
        return [r for r in records if event_id is None or r["ce"].get("id") == event_id]

    def dead_letter(self, event_id: str) -> dict[str, Any]:
        letters = [
            d for d in self.broker.get("/dead-letters").json() if d["event"]["id"] == event_id
        ]
        assert len(letters) == 1, letters
        return letters[0]

    def stats(self) -> dict[str, Any]:
        return self.broker.get("/stats").json()

    def log_lines(self, *words: str) -> list[str]:
        """The messages of the log's lines that hold every one of `words`."""
        return [line for line in messages(self.log) if all(word in line for word in words)]

    def routed(self, event_id: str) -> list[str]:
        """The triggers the broker gave `event_id` a delivery for, as its ingress logged
        them (polled): no other delivery of the event can ever start."""
        [line] = eventually(lambda: _one(self.log_lines("ingested", f" id={event_id} ")))
        found = re.search(r" triggers=(\S+)", line)
        assert found, line
        return [] if found[1] == "-" else found[1].split(",")

    def open_gate(self, name: str) -> None:
        """Let every delivery waiting at /gate/<name> of the fake subscriber through."""
        assert self.fake.put(f"/gates/{name}").status_code == 204


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    tmp = tmp_path_factory.mktemp("broker")
    fake_port, broker_port = free_port(), free_port()
    fake = f"http://127.0.0.1:{fake_port}"
    by_uri = tmp / "by-uri.yaml"
    by_uri.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "eventing.knative.dev/v1",
                "kind": "Trigger",
                "metadata": {"name": "by-uri"},
                "spec": {
                    "broker": "test",
                    "filter": {"attributes": {"type": "test.uri"}},
                    "subscriber": {"uri": f"{fake}/ok/uri"},
                },
            }
        )
    )
    env = {
        "BROKER_MANIFESTS": f"{MANIFESTS},{by_uri}",
        "BROKER_SUBSCRIBERS": json.dumps(fake_routes(fake)),
        "PING_INTERVAL": str(PING_INTERVAL),
        "DEAD_LETTER_FILE": str(tmp / "dead-letters.jsonl"),
        "BROKER_SHUTDOWN_GRACE": "2",
        "TRACES_DIR": str(tmp / "traces"),
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # milliseconds: spans reach the file soon
    }
    fake_argv = [sys.executable, "tests/functions/fake_subscriber.py", "--port", str(fake_port)]
    specs = [ProcessSpec("fake", fake_argv, fake_port), broker_spec(broker_port, env)]
    log = tmp / "processes.log"
    started = time.time()
    with (
        Launcher(specs, sink=FileSink(log), ready_timeout=30),
        httpx.Client(base_url=f"http://127.0.0.1:{broker_port}", timeout=10) as broker,
        httpx.Client(base_url=fake, timeout=10) as fake_client,
    ):
        yield Stage(
            broker, fake_client, fake, log, tmp / "dead-letters.jsonl", started, tmp / "traces"
        )


def own_broker_env(stage: Stage, **settings: str) -> dict[str, str]:
    """The environment of a broker of a test's own: the test manifests, the module's fake
    subscriber, no pings, plus `settings`."""
    return {
        "BROKER_MANIFESTS": MANIFESTS,
        "BROKER_SUBSCRIBERS": json.dumps(fake_routes(stage.fake_url)),
        "PING_INTERVAL": "0",
        **settings,
    }


def new_event(
    type_: str, source: str = "/tests", data: Any = None, **extensions: str
) -> CloudEvent:
    attributes: dict[str, Any] = {
        "type": type_,
        "source": source,
        "id": f"{type_}-{uuid.uuid4().hex[:12]}",
        "subject": f"ord_{uuid.uuid4().hex[:8]}",
        "datacontenttype": "application/json",
        **extensions,
    }
    return CloudEvent(attributes=attributes, data=data if data is not None else {"n": 1})


def send(client: httpx.Client, event: CloudEvent, structured: bool = False, path: str = "/"):
    message = to_structured_event(event) if structured else to_binary_event(event)
    answer = client.post(path, headers=message.headers, content=message.body)
    assert answer.status_code == 202, answer.text
    return answer


# -- ingress -----------------------------------------------------------------------------


@pytest.mark.parametrize("structured", [False, True], ids=["binary", "structured"])
def test_ingress_accepts_both_modes_and_delivers_in_binary_mode(stage: Stage, structured: bool):
    event = new_event("test.fanout", data={"sku": "TF-0001", "quantity": 2}, tenant="x")
    answer = send(stage.broker, event, structured=structured)
    assert answer.content == b""

    [got] = eventually(lambda: _one(stage.received("/ok/a", event.get_id())))
    assert got["ce"]["type"] == "test.fanout"
    assert got["ce"]["source"] == "/tests"
    assert got["ce"]["subject"] == event.get_subject()
    assert got["ce"]["specversion"] == "1.0"
    assert got["ce"]["tenant"] == "x"
    assert got["ce"]["knativearrivaltime"].startswith("20")  # stamped by the ingress
    assert got["content_type"] == "application/json"
    assert got["data"] == {"sku": "TF-0001", "quantity": 2}


def _one(records: list[T]) -> list[T]:
    assert len(records) == 1, records
    return records


def new_gate() -> str:
    """A gate name of the test's own (see fake_subscriber.py)."""
    return f"gate-{uuid.uuid4().hex[:12]}"


STRUCTURED = {"content-type": "application/cloudevents+json"}
BINARY = {"ce-specversion": "1.0", "ce-type": "test.fanout", "ce-source": "/tests"}


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"content-type": "application/json"}, b'{"type": "test.fanout"}'),
        ({"content-type": "text/plain"}, b"hello"),
        ({}, b""),
        (BINARY, b"{}"),  # no ce-id
        ({**BINARY, "ce-id": "1", "ce-specversion": "0.9"}, b"{}"),
        (STRUCTURED, b"{not json"),
        (STRUCTURED, b"[1, 2]"),
        (STRUCTURED, b'{"specversion": "1.0", "id": "1", "source": "/tests"}'),  # no type
        (STRUCTURED, b'{"specversion": "1.0", "id": "1", "source": "/t", "type": "t", "X": 1}'),
    ],
    ids=[
        "plain-json",
        "text",
        "empty",
        "binary-no-id",
        "bad-specversion",
        "broken-json",
        "json-array",
        "no-type",
        "bad-extension-name",
    ],
)
def test_ingress_rejects_what_is_not_a_valid_cloudevent(stage: Stage, headers, body):
    answer = stage.broker.post("/", headers=headers, content=body)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 400
    assert "CloudEvent" in problem["detail"] or "attribute" in problem["detail"]


def test_ingress_by_namespace_and_broker_name(stage: Stage):
    event = new_event("test.fanout")
    send(stage.broker, event, path="/broker-tests/test")
    eventually(lambda: _one(stage.received("/ok/a", event.get_id())))

    unknown = to_binary_event(new_event("test.fanout"))
    answer = stage.broker.post("/broker-tests/nope", headers=unknown.headers, content=b"{}")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    wrong_method = stage.broker.get("/")
    assert wrong_method.status_code == 405
    assert "POST" in wrong_method.headers["allow"]


# -- triggers ----------------------------------------------------------------------------


def test_every_matching_trigger_gets_its_own_delivery(stage: Stage):
    both = new_event("test.fanout", source="/tests/both")
    only_a = new_event("test.fanout", source="/tests/other")
    nobody = new_event("test.nobody", source="/tests/both")
    for event in (both, only_a, nobody):
        send(stage.broker, event)

    assert stage.routed(both.get_id()) == ["fanout-a", "fanout-b"]
    assert stage.routed(only_a.get_id()) == ["fanout-a"]
    assert stage.routed(nobody.get_id()) == []
    eventually(lambda: _one(stage.received("/ok/a", both.get_id())))
    eventually(lambda: _one(stage.received("/ok/b", both.get_id())))
    eventually(lambda: _one(stage.received("/ok/a", only_a.get_id())))
    # Deliveries start only for the triggers routed at ingress: none other is on its way.
    assert stage.received("/ok/b", only_a.get_id()) == []
    assert stage.received("/", nobody.get_id()) == []


def _fail() -> None:
    raise AssertionError("not yet")


def test_filter_on_an_extension_attribute(stage: Stage):
    blue = new_event("test.ext", tenant="blue")
    red = new_event("test.ext", tenant="red")
    untagged = new_event("test.ext")
    for event in (red, untagged, blue):
        send(stage.broker, event)

    assert stage.routed(blue.get_id()) == ["blue-tenant"]
    assert stage.routed(red.get_id()) == stage.routed(untagged.get_id()) == []
    # the trigger's subscriber is a ref (…/ok/) plus a relative uri (ext)
    eventually(lambda: _one(stage.received("/ok/ext", blue.get_id())))
    delivered = {r["ce"]["id"] for r in stage.received("/ok/ext")}
    assert red.get_id() not in delivered
    assert untagged.get_id() not in delivered


def test_subscriber_given_by_absolute_uri(stage: Stage):
    event = new_event("test.uri")
    send(stage.broker, event)
    eventually(lambda: _one(stage.received("/ok/uri", event.get_id())))


# -- delivery ----------------------------------------------------------------------------


def test_a_failing_subscriber_gets_the_event_on_retry(stage: Stage):
    before = stage.stats()["by_trigger"].get("flaky", {})
    event = new_event("test.flaky")
    send(stage.broker, event)

    def three_attempts() -> list[dict[str, Any]]:
        records = stage.received("/flaky", event.get_id())
        assert [r["status"] for r in records] == [503, 503, 204]
        return records

    attempts = eventually(three_attempts)
    # linear backoff from PT0.2S: the first retry at once, the second 0.2 s later (at
    # least: a busy machine makes it later; the exact waits are in test_broker_timing.py)
    _, second = (b["at"] - a["at"] for a, b in pairwise(attempts))
    assert second >= 0.19, second
    line = eventually(
        lambda: stage.log_lines("delivery", event.get_id(), "attempt=3/4", "outcome=204") or _fail()
    )
    assert "trigger=flaky" in line[0]
    assert "type=test.flaky" in line[0]
    assert f"subject={event.get_subject()}" in line[0]
    assert len(stage.log_lines("delivery", event.get_id(), "outcome=503")) == 2

    def counted() -> None:
        after = stage.stats()["by_trigger"]["flaky"]
        assert after["delivered"] - before.get("delivered", 0) == 1
        assert after["retried"] - before.get("retried", 0) == 2
        assert after["attempts"] - before.get("attempts", 0) == 3

    eventually(counted)
    letters = stage.broker.get("/dead-letters").json()
    assert all(d["event"]["id"] != event.get_id() for d in letters)


def test_an_always_failing_event_is_dead_lettered_after_every_retry(stage: Stage):
    event = new_event("test.fail", data={"order_id": "ord_x"})
    send(stage.broker, event)

    letter = eventually(lambda: stage.dead_letter(event.get_id()))
    attempts = stage.received("/fail", event.get_id())
    assert len(attempts) == 3  # 1 + retry (2), the trigger's own
    assert letter["attempts"] == 3
    assert letter["trigger"] == "always-fails"
    assert letter["subscriber"] == f"{stage.fake_url}/fail"
    assert letter["code"] == 500
    assert letter["error"] == "HTTP 500"
    dead = letter["event"]
    assert dead["type"] == "test.fail"
    assert dead["subject"] == event.get_subject()
    assert dead["data"] == {"order_id": "ord_x"}
    assert int(dead["knativeerrorcode"]) == 500
    assert dead["knativeerrordest"] == f"{stage.fake_url}/fail"
    assert base64.b64decode(dead["knativeerrordata"]) == f"boom: {event.get_id()}".encode()

    # exponential backoff from PT0.1S: 0.1 s before the first retry, 0.2 s before the
    # second (at least; the exact waits are in test_broker_timing.py)
    first, second = (b["at"] - a["at"] for a, b in pairwise(attempts))
    assert first >= 0.09, first
    assert second >= 0.19, second

    # the trigger's deadLetterSink got it too, with the extensions as ce-* headers
    [sunk] = eventually(lambda: _one(stage.received("/ok/dls", event.get_id())))
    assert sunk["ce"]["knativeerrorcode"] == "500"
    assert sunk["ce"]["knativeerrordest"] == f"{stage.fake_url}/fail"
    assert sunk["data"] == {"order_id": "ord_x"}
    assert stage.log_lines("dead-lettered", event.get_id(), "attempts=3", "code=500")
    # The letter is made once the last attempt is answered, the sink's copy after it:
    # with both seen, the delivery is over, and no attempt came after the third.
    assert len(stage.received("/fail", event.get_id())) == 3

    in_file = [json.loads(line) for line in stage.dead_letter_file.read_text().splitlines()]
    assert [d["attempts"] for d in in_file if d["event"]["id"] == event.get_id()] == [3]


def test_a_plain_2xx_body_is_a_failure(stage: Stage):
    event = new_event("test.plain")
    send(stage.broker, event)

    letter = eventually(lambda: stage.dead_letter(event.get_id()))
    attempts = stage.received("/plain", event.get_id())
    assert [a["status"] for a in attempts] == [200, 200, 200, 200]  # 1 + the broker's retry 3
    assert letter["attempts"] == 4
    assert "not a CloudEvent" in letter["error"]
    assert letter["dead_letter_sink"] is None  # "dead-letters" has no URL: the store only
    assert letter["event"]["knativeerrorcode"] == 502
    assert base64.b64decode(letter["event"]["knativeerrordata"]) == b"hello, not an event"
    assert len(stage.log_lines("delivery", event.get_id(), "outcome=200 not-an-event")) == 4


@pytest.mark.parametrize(
    ("type_", "path"), [("test.ask", "/reply/"), ("test.ask.structured", "/reply-structured/")]
)
def test_a_reply_event_goes_back_into_the_broker(stage: Stage, type_: str, path: str):
    before = stage.stats()["by_trigger"].get("answer", {}).get("delivered", 0)
    event = new_event(type_)
    send(stage.broker, event)

    eventually(lambda: _one(stage.received(path, event.get_id())))
    reply_id = f"{event.get_id()}:reply"
    [answer] = eventually(lambda: _one(stage.received("/ok/answer", reply_id)))
    assert answer["ce"]["type"] == "test.answer"
    assert answer["ce"]["subject"] == event.get_subject()
    assert answer["data"] == {"in_reply_to": event.get_id()}
    assert stage.log_lines("ingested", reply_id, "from=reply:ask", "triggers=answer")
    assert stage.stats()["by_trigger"]["answer"]["delivered"] == before + 1


def test_a_subscriber_slower_than_the_timeout_fails(stage: Stage):
    event = new_event("test.slow")  # the subscriber sleeps 1.5 s, the timeout is 0.3 s
    send(stage.broker, event)

    letter = eventually(lambda: stage.dead_letter(event.get_id()))
    assert letter["attempts"] == 2  # the trigger's retry: 1
    assert letter["code"] == 0
    assert letter["error"] == "no answer within 0.3s"
    assert letter["event"]["knativeerrorcode"] == 0
    assert len(stage.received("/slow", event.get_id())) == 2
    assert len(stage.log_lines("delivery", event.get_id(), "outcome=timeout")) == 2


@pytest.mark.parametrize("code", [404, 429, 503])
def test_a_status_knative_retries_is_retried(stage: Stage, code: int):
    event = new_event(f"test.status.{code}")
    send(stage.broker, event)

    letter = eventually(lambda: stage.dead_letter(event.get_id()))
    assert letter["attempts"] == 3, letter  # 1 + the trigger's retry 2
    assert letter["code"] == code, letter
    attempts = stage.received(f"/status/{code}", event.get_id())
    assert [a["status"] for a in attempts] == [code, code, code]


def test_a_400_is_not_retried_but_dead_lettered_at_once(stage: Stage):
    event = new_event("test.status.400")
    send(stage.broker, event)

    letter = eventually(lambda: stage.dead_letter(event.get_id()))
    assert letter["attempts"] == 1, letter
    assert (letter["code"], letter["error"]) == (400, "HTTP 400"), letter
    assert base64.b64decode(letter["event"]["knativeerrordata"]) == b"status 400"
    # The letter is made when the delivery has ended: no retry can follow it.
    assert [a["status"] for a in stage.received("/status/400", event.get_id())] == [400]
    assert len(stage.log_lines("delivery", event.get_id(), "attempt=1/3", "outcome=400")) == 1


def test_backoff_has_jitter_within_bounds_and_a_cap():
    exponential = Policy(backoff_policy="exponential", backoff_delay=0.2, jitter=0.2, cap=3.0)
    linear = Policy(backoff_policy="linear", backoff_delay=0.5, jitter=0.2, cap=3.0)
    rng = random.Random(8).random
    for retries_done in range(4):
        base = 0.2 * 2**retries_done
        waits = [exponential.backoff(retries_done, rng) for _ in range(200)]
        assert all(base <= wait <= min(3.0, base * 1.2) for wait in waits), (base, waits)
        assert len(set(waits)) > 100  # spread, not one value
        assert max(waits) - min(waits) > base * 0.15
    assert exponential.backoff(4, lambda: 0.0) == 3.0  # 3.2 s, capped
    assert exponential.backoff(50, rng) == 3.0  # no overflow far out
    assert linear.backoff(0, rng) == 0.0  # Knative's linear policy retries first at once
    assert 1.0 <= linear.backoff(2, rng) <= 1.2
    assert linear.backoff(9, lambda: 0.999) == 3.0
    unjittered = Policy(backoff_delay=0.2, jitter=0.0)
    assert [unjittered.backoff(n) for n in range(3)] == [0.2, 0.4, 0.8]


def test_knative_retries_what_its_dispatcher_retries():
    assert [code for code in range(100, 600) if retryable(code)] == [
        404,
        408,
        409,
        429,
        *range(500, 600),
    ]
    assert retryable(0)  # no HTTP answer: a refused connection or a timeout


def test_a_full_subscriber_makes_the_ingress_answer_503_and_a_retrying_client_loses_nothing(
    stage: Stage, tmp_path
):
    port, gate = free_port(), new_gate()
    subscriber = f"/gate/{gate}"  # holds every delivery until the gate opens
    env = own_broker_env(stage, BROKER_SUBSCRIBER_CAPACITY="2", BROKER_RETRY_AFTER="1")
    env["BROKER_SUBSCRIBERS"] = json.dumps(
        fake_routes(stage.fake_url) | {"lingering": stage.fake_url + subscriber}
    )
    sent = [new_event("test.linger") for _ in range(5)]
    url = f"http://127.0.0.1:{port}"
    with (
        Launcher([broker_spec(port, env)], sink=FileSink(tmp_path / "broker.log")),
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        try:
            send(client, sent[0])
            send(client, sent[1])
            message = to_binary_event(sent[2])
            full = client.post("/", headers=message.headers, content=message.body)
            assert full.status_code == 503, full.text
            assert full.headers["content-type"] == "application/problem+json"
            assert full.headers["retry-after"] == "1"
            problem = full.json()
            assert problem["status"] == 503
            assert subscriber in problem["detail"]
            assert "2 deliveries in flight" in problem["detail"]

            # The functions' own publisher waits as told and tries again: all get in. Its
            # first wait opens the gate and lasts until the deliveries in flight have
            # ended (the subscriber has room again), however long a busy machine takes.
            waited: list[float] = []

            def wait_for_room(seconds: float) -> None:
                waited.append(seconds)
                stage.open_gate(gate)
                eventually(lambda: _all_delivered(client.get("/stats").json()))
                time.sleep(seconds)

            for event in sent[2:]:
                publish(client, url, event, sleep=wait_for_room)
        finally:
            stage.open_gate(gate)
        assert waited, "the publisher never had to wait: the capacity was not reached"

        def all_delivered_once() -> None:
            for event in sent:
                assert [r["status"] for r in stage.received(subscriber, event.get_id())] == [204]

        eventually(all_delivered_once)
        stats = client.get("/stats").json()
    assert stats["refused"] == 1 + len(waited), stats
    assert stats["ingested"] == len(sent), stats
    assert stats["dead_lettered"] == 0, stats


def _all_delivered(stats: dict[str, Any]) -> None:
    assert stats["delivered"] == stats["ingested"], stats


def test_a_reply_the_broker_has_no_room_for_fails_its_delivery_and_is_not_lost(
    stage: Stage, tmp_path
):
    """The reply's subscriber is full: the reply is refused back to the delivery that
    carried it, which is retried (the subscriber answers the same reply each time) and,
    with the retries spent, becomes a dead letter that says why."""
    port, gate = free_port(), new_gate()
    held = f"/gate/{gate}"  # the replies' subscriber, holding each until the gate opens
    routes = fake_routes(stage.fake_url) | {"answers": stage.fake_url + held}
    env = own_broker_env(stage, BROKER_SUBSCRIBER_CAPACITY="1")
    env["BROKER_SUBSCRIBERS"] = json.dumps(routes)
    first, second = new_event("test.ask"), new_event("test.ask")
    with (
        Launcher([broker_spec(port, env)], sink=FileSink(tmp_path / "broker.log")),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
    ):
        try:
            send(client, first)  # its reply takes the one place of the held subscriber
            eventually(lambda: _one(stage.received(held, f"{first.get_id()}:reply")))
            send(client, second)
            letters = eventually(lambda: _one(_letters(client, second.get_id())))
        finally:
            stage.open_gate(gate)
    [letter] = letters
    assert letter["trigger"] == "ask"
    assert (letter["attempts"], letter["code"]) == (4, 429), letter  # 1 + the broker's retry 3
    assert letter["error"] == "reply test.answer refused: the broker is over capacity"
    assert len(stage.received("/reply/", second.get_id())) == 4
    assert stage.received(held, f"{second.get_id()}:reply") == []


def _letters(client: httpx.Client, event_id: str) -> list[dict[str, Any]]:
    return [d for d in client.get("/dead-letters").json() if d["event"]["id"] == event_id]


# -- ping source, statistics, dead-letter store --------------------------------------------


def test_the_ping_source_posts_to_its_sink_at_the_interval(stage: Stage):
    pings = eventually(lambda: _at_least(stage.received("/ok/ping"), 3))
    for ping in pings:
        assert ping["ce"]["type"] == "dev.knative.sources.ping"
        assert ping["ce"]["source"] == "/apis/v1/namespaces/broker-tests/pingsources/test-ping"
        assert ping["content_type"] == "application/json"
        assert ping["data"] == {"hello": "ping"}
        assert ping["status"] == 204
    assert len({p["ce"]["id"] for p in pings}) == len(pings)
    # One ping per interval at most since the broker started: never a burst (a busy
    # machine makes them fewer, not more; the schedule itself, a late tick included, is
    # checked on a fake clock in test_broker_timing.py).
    every_ping = stage.received("/ok/ping")
    assert len(every_ping) <= (time.time() - stage.started) / PING_INTERVAL + 1, every_ping
    assert stage.stats()["pings"]["sent"] >= 3


def _at_least(records: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    assert len(records) >= count, records
    return records


def test_stats_count_events_and_measure_the_delivery_lag(stage: Stage):
    def idle() -> None:
        assert stage.stats()["in_flight"] == 0

    eventually(idle)
    assert stage.broker.delete("/stats").status_code == 204
    sent = [new_event("test.fanout", source="/tests/other") for _ in range(5)]
    started = time.monotonic()
    for event in sent:
        send(stage.broker, event)

    def all_delivered() -> dict[str, Any]:
        stats = stage.stats()
        assert stats["delivered"] == 5, stats
        return stats

    stats = eventually(all_delivered)
    # no lag can be longer than the test took from the first send to seeing them delivered
    took_ms = (time.monotonic() - started) * 1000
    assert stats["ingested"] == 5
    assert stats["attempts"] == 5
    assert stats["retried"] == stats["dead_lettered"] == stats["replies"] == 0
    lag = stats["lag_ms"]
    assert lag["count"] == 5
    assert 0 < lag["p50"] <= lag["p95"] <= lag["max"] <= took_ms, (lag, took_ms)
    assert stats["by_trigger"] == {"fanout-a": {"attempts": 5, "retried": 0, "delivered": 5}}
    for event in sent:
        assert len(stage.received("/ok/a", event.get_id())) == 1


def test_the_dead_letter_store_can_be_cleared(stage: Stage):
    event = new_event("test.plain")
    send(stage.broker, event)
    eventually(lambda: stage.dead_letter(event.get_id()))
    assert stage.broker.delete("/dead-letters").status_code == 204
    assert stage.broker.get("/dead-letters").json() == []


# -- the manifests: the tests', the real ones, a broken one; a graceful stop ------------------


def test_the_wiring_the_test_manifests_come_to(stage: Stage):
    wiring = stage.broker.get("/triggers").json()
    assert [(b["name"], b["namespace"]) for b in wiring["brokers"]] == [("test", "broker-tests")]
    triggers = {t["name"]: t for t in wiring["triggers"]}
    assert "not-ours" not in triggers  # another broker's trigger
    assert len(triggers) == 16  # 15 in triggers.yaml for broker "test", plus by-uri
    routes = fake_routes(stage.fake_url)
    assert triggers["blue-tenant"]["filter"] == {"type": "test.ext", "tenant": "blue"}
    assert triggers["blue-tenant"]["url"] == f"{stage.fake_url}/ok/ext"  # ref + relative uri
    assert triggers["by-uri"]["url"] == f"{stage.fake_url}/ok/uri"
    assert triggers["fanout-a"]["delivery"] == {
        "retry": 3,
        "backoffPolicy": "exponential",
        "backoffDelaySeconds": 0.05,
        "timeoutSeconds": 2.0,
        "backoffJitter": 0.2,
        "backoffCapSeconds": 30.0,
        "deadLetterSink": "Service/dead-letters",
        "deadLetterUrl": None,
    }
    # the trigger's own fields, the broker's for the rest (field by field)
    fails = triggers["always-fails"]["delivery"]
    assert (fails["retry"], fails["backoffDelaySeconds"], fails["deadLetterUrl"]) == (
        2,
        0.1,
        routes["dls"],
    )
    assert (fails["backoffPolicy"], fails["timeoutSeconds"]) == ("exponential", 2.0)
    assert triggers["always-fails"]["inheritedFromBroker"] == ["backoffPolicy", "timeout"]
    assert triggers["too-slow"]["delivery"]["timeoutSeconds"] == 0.3
    assert triggers["lingering"]["delivery"]["timeoutSeconds"] == 60.0  # PT1M
    assert triggers["flaky"]["delivery"]["backoffPolicy"] == "linear"
    # Knative takes a trigger's delivery as a whole: the broker says where it differs
    assert stage.log_lines("trigger always-fails sets spec.delivery without backoffPolicy")
    [ping] = wiring["pingSources"]
    assert ping["intervalSeconds"] == PING_INTERVAL
    assert ping["url"] == routes["ping-sink"]


def test_a_manifest_the_broker_cannot_honour_stops_it_before_it_is_ready(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump_all(
            [
                {
                    "apiVersion": "eventing.knative.dev/v1",
                    "kind": "Broker",
                    "metadata": {"name": "b"},
                },
                {
                    "apiVersion": "eventing.knative.dev/v1",
                    "kind": "Trigger",
                    "metadata": {"name": "new-filters"},
                    "spec": {
                        "broker": "b",
                        "filters": [{"exact": {"type": "x"}}],
                        "subscriber": {"uri": "http://127.0.0.1:9/"},
                    },
                },
            ]
        )
    )
    port = free_port()
    launcher = Launcher(
        [broker_spec(port, {"BROKER_MANIFESTS": str(bad)})], sink=FileSink(tmp_path / "log")
    )
    with pytest.raises(LaunchError, match=r"spec\.filters") as failure:
        launcher.start()
    assert "new-filters" in str(failure.value)


SAGA_TYPES = {
    "shop.order.placed",
    "shop.stock.reserved",
    "shop.stock.rejected",
    "shop.payment.succeeded",
    "shop.payment.failed",
    "shop.order.confirmed",
    "shop.order.rejected",
    "shop.stock.committed",
    "shop.stock.released",
    "shop.customer.notified",
}


SECONDS = {"PT0.2S": 0.2, "PT0.5S": 0.5, "PT10S": 10.0, "PT15S": 15.0}  # the ISO-8601 in use


def _raw(kind: str) -> list[dict[str, Any]]:
    docs = []
    for file in sorted((ROOT / "k8s/functions").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(file.read_text()) if d and d.get("kind") == kind]
    return docs


def test_the_real_manifests_wire_every_trigger_and_the_ping_source(stage: Stage, tmp_path):
    raw_broker = _raw("Broker")[0]
    raw_triggers = {t["metadata"]["name"]: t["spec"] for t in _raw("Trigger")}
    raw_ping = _raw("PingSource")[0]
    services = {t["subscriber"]["ref"]["name"] for t in raw_triggers.values()}
    services.add(raw_ping["spec"]["sink"]["ref"]["name"])
    mapped = {name: f"{stage.fake_url}/ok/{name}" for name in services - {"notify-customer"}}
    port = free_port()
    env = {"BROKER_SUBSCRIBERS": json.dumps(mapped), "PING_INTERVAL": "60"}
    log = tmp_path / "broker.log"
    with (
        Launcher([broker_spec(port, env, ready_path="/healthz")], sink=FileSink(log)),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
    ):
        ready = client.get("/readyz")
        wiring = client.get("/triggers").json()
        placed = new_event("shop.order.placed")
        send(client, placed, path="/threefold-functions/shop")
        eventually(lambda: _one(stage.received("/ok/reserve-stock", placed.get_id())))

    # not ready while a subscriber has no URL, and it says which
    assert ready.status_code == 503
    assert sorted(ready.json()["unresolved"]) == [
        f"trigger {name}: Service/notify-customer"
        for name in sorted(raw_triggers)
        if raw_triggers[name]["subscriber"]["ref"]["name"] == "notify-customer"
    ]

    [broker] = wiring["brokers"]
    assert broker["name"] == raw_broker["metadata"]["name"] == "shop"
    assert broker["namespace"] == "threefold-functions"  # from kustomization.yaml
    defaults = raw_broker["spec"]["delivery"]
    triggers = {t["name"]: t for t in wiring["triggers"]}
    assert set(triggers) == set(raw_triggers)
    assert {t["filter"]["type"] for t in triggers.values()} == SAGA_TYPES
    for name, spec in raw_triggers.items():
        got = triggers[name]
        assert got["broker"] == "shop"
        assert got["filter"] == spec["filter"]["attributes"]
        service = spec["subscriber"]["ref"]["name"]
        assert got["subscriber"] == f"Service/{service}"
        assert got["url"] == mapped.get(service)
        own = spec.get("delivery", {})
        delivery = got["delivery"]
        assert delivery["retry"] == own.get("retry", defaults["retry"])
        assert delivery["backoffPolicy"] == own.get("backoffPolicy", defaults["backoffPolicy"])
        delay = own.get("backoffDelay", defaults["backoffDelay"])
        assert delivery["backoffDelaySeconds"] == SECONDS[delay]
        assert delivery["timeoutSeconds"] == SECONDS[own.get("timeout", defaults["timeout"])]
        assert delivery["deadLetterSink"] == "Service/dead-letters"
        assert delivery["deadLetterUrl"] is None
    charge = triggers["charge-payment-on-stock-reserved"]["delivery"]
    assert (charge["retry"], charge["backoffDelaySeconds"], charge["timeoutSeconds"]) == (
        3,
        0.5,
        15.0,
    )

    [ping] = wiring["pingSources"]
    assert ping["name"] == raw_ping["metadata"]["name"]
    assert ping["source"] == f"/apis/v1/namespaces/threefold-functions/pingsources/{ping['name']}"
    assert ping["schedule"] == raw_ping["spec"]["schedule"]
    assert ping["contentType"] == raw_ping["spec"]["contentType"] == "application/json"
    assert json.loads(ping["data"]) == json.loads(raw_ping["spec"]["data"])
    assert ping["url"] == mapped[raw_ping["spec"]["sink"]["ref"]["name"]]
    assert ping["intervalSeconds"] == 60


def test_a_graceful_stop_lets_in_flight_deliveries_finish(stage: Stage, tmp_path):
    """The delivery is held at the subscriber until the broker has begun to stop, then let
    go: it finishes within the grace period, however long the stop took to begin."""
    port, gate = free_port(), new_gate()
    held = f"/gate/{gate}"
    env = own_broker_env(stage, BROKER_SHUTDOWN_GRACE="60")  # the test waits for none of it
    env["BROKER_SUBSCRIBERS"] = json.dumps(
        fake_routes(stage.fake_url) | {"lingering": stage.fake_url + held}
    )
    log = tmp_path / "broker.log"
    event = new_event("test.linger")
    with (
        Launcher([broker_spec(port, env)], sink=FileSink(log)) as launcher,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
    ):
        try:
            send(client, event)
            eventually(lambda: _one(stage.received(held, event.get_id())))
            launcher.send_signal("broker", signal.SIGTERM)  # a graceful stop begins
            eventually(lambda: _one(_lines(log, "stopping: 1 delivery(ies) in flight")))
        finally:
            stage.open_gate(gate)
        eventually(lambda: _exited(launcher), timeout=30)
        launcher.kill("broker", signal.SIGTERM)  # gone already: this only reaps its output

    text = "\n".join(messages(log))
    assert f"id={event.get_id()} trigger=lingering" in text
    assert [r["status"] for r in stage.received(held, event.get_id())] == [204]
    delivered = [
        line for line in text.splitlines() if event.get_id() in line and "outcome=" in line
    ]
    assert len(delivered) == 1
    assert "outcome=204" in delivered[0]
    assert "stopped" in text
    assert "abandoned" not in text


def _lines(log: Path, text: str) -> list[str]:
    return [line for line in messages(log) if text in line]


def _exited(launcher: Launcher) -> None:
    assert launcher.failed() == ["broker"], "the broker has not exited yet"
