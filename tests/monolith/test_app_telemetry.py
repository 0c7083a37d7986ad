"""The monolith app's telemetry: server spans named by the public route templates, one
order's saga steps inside one transaction span, /metrics and request durations by route."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from monolith.app import create_app
from shop.persistence.database import Database
from shop.persistence.migrate import upgrade
from shop.seed import seed
from shop.telemetry.settings import TelemetrySettings
from shop.telemetry.sql import trace_queries
from shop.telemetry.tracing import ORDER_ID

SAGA = [
    "price lines", "reserve stock", "charge payment", "commit stock", "confirm order",
    "notify customer",
]  # fmt: skip


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    """The spans this test process records (its provider is set once per process)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())  # as setup() does where spans have a place
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture(scope="module")
def app(tmp_path_factory, spans):
    url = f"sqlite:///{tmp_path_factory.mktemp('monolith') / 'monolith.sqlite'}"
    upgrade(url)
    database = Database(url)
    seed(database, database)
    database.dispose()
    return create_app({"DATABASE_URL": url})


@pytest.fixture
def recorded(spans: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    spans.clear()
    yield spans


def _order(client) -> dict:
    answer = client.post(
        "/api/orders",
        json={"email": "a@example.com", "payment_token": "tok_visa", "lines": [
            {"sku": "TF-0001", "quantity": 1}
        ]},
    )  # fmt: skip
    assert answer.status_code == 202, answer.text
    return answer.json


def test_server_spans_are_named_by_the_public_route_template(app, recorded) -> None:
    client = app.test_client()
    for path in ("/api/products/TF-0001", "/no/such/path"):
        client.get(path).close()  # as a server does: the span ends with the answer's iterable
    names = [s.name for s in recorded.get_finished_spans()]
    assert names == ["GET /api/products/{sku}", "GET unmatched"]


def test_probes_and_metrics_are_not_traced(app, recorded) -> None:
    client = app.test_client()
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200
    assert recorded.get_finished_spans() == ()


def test_an_orders_steps_are_spans_inside_one_transaction(app, recorded) -> None:
    order = _order(app.test_client())
    by_name = {s.name: s for s in recorded.get_finished_spans()}
    server, place = by_name["POST /api/orders"], by_name["place order"]
    transaction = by_name["order transaction"]
    assert place.parent.span_id == server.context.span_id
    assert transaction.parent.span_id == place.context.span_id
    steps = sorted(
        (s for s in recorded.get_finished_spans() if s.parent == transaction.context),
        key=lambda s: s.start_time,
    )
    assert [s.name for s in steps] == SAGA
    assert {s.attributes[ORDER_ID] for s in [server, place, transaction, *steps]} == {order["id"]}


def _samples(client) -> dict[tuple[str, tuple], float]:
    page = client.get("/metrics")
    assert page.status_code == 200 and page.mimetype == "text/plain"
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(page.get_data(as_text=True))
        for s in family.samples
    }


def test_metrics_count_requests_by_route_and_the_orders_steps(app) -> None:
    client = app.test_client()
    before = _samples(client)
    client.get("/api/products/TF-9999")
    _order(client)
    after = _samples(client)

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    count = "http_server_request_duration_seconds_count"
    assert moved(count, method="GET", route="/api/products/{sku}", status="404") == 1
    assert moved(count, method="POST", route="/api/orders", status="202") == 1
    assert moved(count, method="GET", route="/metrics", status="200") == 0  # never counted
    assert moved("shop_orders_placed_total") == 1
    assert moved("shop_stock_reservations_total", result="reserved") == 1
    assert moved("shop_stock_reservations_total", result="committed") == 1
    assert moved("shop_payments_total", outcome="captured") == 1
    assert moved("shop_notifications_sent_total") == 1
    assert moved("shop_orders_finished_total", status="confirmed", reason="") == 1


def test_trace_sql_puts_each_statement_under_its_step(app, recorded) -> None:
    database = app.extensions["threefold"].database
    assert not trace_queries(database, TelemetrySettings(trace_sql=False))
    assert trace_queries(database, TelemetrySettings(trace_sql=True))
    _order(app.test_client())
    spans = recorded.get_finished_spans()
    reserve = next(s for s in spans if s.name == "reserve stock")
    under_reserve = [s for s in spans if s.parent == reserve.context]
    assert under_reserve and all(s.kind is trace.SpanKind.CLIENT for s in under_reserve)
