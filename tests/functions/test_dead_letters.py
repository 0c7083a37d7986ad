"""dead-letters, in one process: the broker's dead-letter sink keeps what it is sent.

It is served the way the cluster serves it (func-python's HTTP middleware around
the function), on a migrated orders database, SQLite and PostgreSQL, and sent
dead letters the way Knative's broker sends them: the event as it was, plus the
knativeerror* extensions, in binary and in structured mode.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator

import func_python.http
import httpx
import pytest
from cloudevents.core.bindings.http import to_binary_event, to_structured_event
from cloudevents.core.v1.event import CloudEvent

from functions.dead_letters.func import new
from shop.persistence.migrate import upgrade
from tests.support.postgres import fresh_databases

TOKEN = "dead-letters-test-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


class FunctionClient:
    """Requests to the served function in this process, with its start and stop (the ASGI
    lifespan func-python runs) around them."""

    def __init__(self, app: func_python.http.ASGIApplication) -> None:
        self.app = app
        self.runner = asyncio.Runner()
        transport = httpx.ASGITransport(app=app)
        self.http = httpx.AsyncClient(transport=transport, base_url="http://dead-letters")

    def __enter__(self) -> FunctionClient:
        self.runner.run(self.app.on_start())
        return self

    def __exit__(self, *_exc) -> None:
        self.runner.run(self.http.aclose())
        self.runner.run(self.app.on_stop())
        self.runner.close()

    def get(self, url: str, **kwargs) -> httpx.Response:
        return self.runner.run(self.http.get(url, **kwargs))

    def post(self, url: str, **kwargs) -> httpx.Response:
        return self.runner.run(self.http.post(url, **kwargs))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def client(request, tmp_path, monkeypatch) -> Iterator[FunctionClient]:
    if request.param == "sqlite":
        urls = {"orders": f"sqlite:///{tmp_path / 'orders.sqlite'}"}
        yield from _serve(urls["orders"], monkeypatch)
    else:
        with fresh_databases("orders") as urls:
            yield from _serve(urls["orders"], monkeypatch)


def _serve(url: str, monkeypatch) -> Iterator[FunctionClient]:
    upgrade(url, ["orders"])
    monkeypatch.setenv("ORDERS_DATABASE_URL", url)
    monkeypatch.setenv("ADMIN_TOKEN", TOKEN)
    app = func_python.http.ASGIApplication(new())
    with FunctionClient(app) as function:
        yield function


def dead_letter(event_id: str = "ord_1:shop.order.confirmed", code: int = 503) -> CloudEvent:
    return CloudEvent(
        attributes={
            "type": "shop.order.confirmed",
            "source": "/threefold/functions/finalize-order",
            "id": event_id,
            "subject": "ord_1",
            "datacontenttype": "application/json",
            "knativeerrordest": "http://notify-customer.threefold-functions.svc.cluster.local",
            "knativeerrorcode": code,
            "knativeerrordata": base64.b64encode(b"upstream down").decode(),
        },
        data={"id": "ord_1", "status": "confirmed"},
    )


def post(client: FunctionClient, event: CloudEvent, structured: bool = False):
    message = to_structured_event(event) if structured else to_binary_event(event)
    return client.post("/", headers=dict(message.headers), content=message.body)


def listed(client: FunctionClient, **params) -> list[dict]:
    answer = client.get("/dead-letters", headers=ADMIN, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_a_dead_letter_is_kept_with_where_and_why_it_failed(client):
    assert post(client, dead_letter()).status_code == 204
    [letter] = listed(client)
    assert letter["event_id"] == "ord_1:shop.order.confirmed"
    assert letter["event_type"] == "shop.order.confirmed"
    assert letter["event_source"] == "/threefold/functions/finalize-order"
    assert letter["subject"] == "ord_1"
    assert letter["error_destination"].startswith("http://notify-customer.")
    assert letter["error_code"] == 503
    assert base64.b64decode(letter["error_data"]) == b"upstream down"
    assert letter["event"]["data"] == {"id": "ord_1", "status": "confirmed"}


def test_the_same_dead_letter_delivered_again_is_kept_once(client):
    assert post(client, dead_letter()).status_code == 204
    assert post(client, dead_letter(), structured=True).status_code == 204
    assert len(listed(client)) == 1


def test_the_list_is_newest_first_and_bounded(client):
    for number in range(3):
        assert post(client, dead_letter(f"ord_{number}:shop.order.placed")).status_code == 204
    ids = [letter["event_id"] for letter in listed(client)]
    assert ids == [f"ord_{n}:shop.order.placed" for n in (2, 1, 0)]
    assert [letter["event_id"] for letter in listed(client, limit=1)] == [ids[0]]


def test_the_list_is_for_admins_only(client):
    answer = client.get("/dead-letters")
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("limit", ["0", "501", "many"])
def test_a_bad_limit_is_a_problem(client, limit):
    answer = client.get("/dead-letters", headers=ADMIN, params={"limit": limit})
    assert answer.status_code == 422  # as every query the shop refuses
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_request_that_is_not_a_cloudevent_is_refused_and_nothing_kept(client):
    body = json.dumps({"id": "x"})
    answer = client.post("/", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert listed(client) == []


def test_ready_once_its_database_answers(client):
    assert client.get("/health/readiness").status_code == 200
    assert client.get("/readyz").json()["status"] == "ok"
