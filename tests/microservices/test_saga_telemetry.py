"""What the microservices' saga and re-driver tell: their step spans, each carrying the
order id, in the trace they run in (the request's, or the re-drive round's own), and
the order counters, counted once per order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from microservices.orders import saga
from microservices.orders.redrive import Redriver
from shop.persistence.database import Database
from shop.persistence.migrate import upgrade
from shop.schemas import OrderIn
from shop.telemetry.settings import TelemetrySettings
from shop.telemetry.tracing import ORDER_ID, configure_tracing, tracer
from tests.microservices.test_saga_calls_outside_transactions import SKU, CheckingPeers

STEPS = [
    "price lines", "reserve stock", "charge payment", "commit stock", "confirm order",
    "notify customer",
]  # fmt: skip


@pytest.fixture
def spans(tmp_path_factory) -> Iterator[InMemorySpanExporter]:
    """The spans this test ends (the process's provider, as a service makes it)."""
    traces = tmp_path_factory.mktemp("traces")
    configure_tracing("orders", TelemetrySettings(tracing=True, traces_dir=traces))
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # it keeps nothing more once the test is over


@pytest.fixture
def database(tmp_path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'orders.sqlite'}"
    upgrade(url, ["orders"])
    database = Database(url)
    yield database
    database.dispose()


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _request() -> OrderIn:
    lines = [{"sku": SKU, "quantity": 1}]
    return OrderIn(email="a@example.com", payment_token="tok_visa", lines=lines)


def _of_order(exporter: InMemorySpanExporter, order_id: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.attributes.get(ORDER_ID) == order_id]


def test_the_saga_steps_are_spans_of_the_request_carrying_the_order_id(spans, database, tmp_path):
    placed_before = _count("shop_orders_placed_total")
    confirmed_before = _count("shop_orders_finished_total", status="confirmed", reason="")
    with tracer().start_as_current_span("POST /api/orders") as request_span:
        order = saga.place(database, CheckingPeers(tmp_path / "orders.sqlite"), _request(), 30)
    assert order.status == "confirmed"

    steps = _of_order(spans, order.id)
    assert [s.name for s in steps if s.name != "POST /api/orders"] == STEPS
    request_trace = request_span.get_span_context().trace_id
    assert {s.context.trace_id for s in steps} == {request_trace}
    assert request_span.attributes[ORDER_ID] == order.id  # mark_order: the request's own
    assert _count("shop_orders_placed_total") == placed_before + 1
    confirmed = _count("shop_orders_finished_total", status="confirmed", reason="")
    assert confirmed == confirmed_before + 1


def test_a_redrive_round_is_a_trace_of_its_own_whose_steps_carry_the_order_id(
    spans, database, tmp_path
):
    peers = CheckingPeers(tmp_path / "orders.sqlite")
    peers.reserve_answers = False
    with tracer().start_as_current_span("POST /api/orders") as request_span:
        pending = saga.place(database, peers, _request(), 30)
    assert pending.status == "pending"
    peers.reserve_answers = True
    runs_before = _count("shop_redrive_runs_total")
    taken_before = _count("shop_redrive_orders_total")
    confirmed_before = _count("shop_orders_finished_total", status="confirmed", reason="")

    assert Redriver(database, peers, interval=60, after=0, lease=30).run_once() == 1

    (round_,) = [s for s in spans.get_finished_spans() if s.name == "re-drive round"]
    assert round_.parent is None  # not the request's: a trace of its own
    assert round_.context.trace_id != request_span.get_span_context().trace_id
    in_round = round_.context.trace_id
    redriven = [s for s in _of_order(spans, pending.id) if s.context.trace_id == in_round]
    assert [s.name for s in redriven] == [
        "reserve stock", "charge payment", "commit stock", "confirm order", "notify customer",
        "re-drive order",
    ]  # fmt: skip
    assert _count("shop_redrive_runs_total") == runs_before + 1
    assert _count("shop_redrive_orders_total") == taken_before + 1
    confirmed = _count("shop_orders_finished_total", status="confirmed", reason="")
    assert confirmed == confirmed_before + 1

    # A second round finds nothing to do: no trace, and the order is not counted again.
    assert Redriver(database, peers, interval=60, after=0, lease=30).run_once() == 0
    assert [s.name for s in spans.get_finished_spans()].count("re-drive round") == 1
    assert _count("shop_orders_finished_total", status="confirmed", reason="") == confirmed
