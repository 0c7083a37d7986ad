"""The order floor's hops, read from a trace: calls (client minus server span) and events
(from one step letting go to the next function's server span)."""

from __future__ import annotations

import pytest

from benchmarks.order_floor import Floor, call_hops, event_hops, floor
from shop.telemetry.trace_files import Span

MS = 1_000_000  # nanoseconds


def span(name, service, kind, start, end, span_id, parent="", order="ord_1") -> Span:
    return Span("t1", span_id, parent, name, service, kind, start * MS, end * MS,
                {"shop.order.id": order} if order else {})  # fmt: skip


def test_a_call_costs_its_client_span_less_the_server_span_it_caused():
    trace = [
        span("POST /api/orders", "gateway", "server", 0, 50, "g"),
        span("POST", "gateway", "client", 1, 49, "gc", "g"),
        span("POST /api/orders", "orders", "server", 3, 47, "o", "gc"),
        span("reserve stock", "orders", "internal", 5, 15, "r", "o"),
        span("POST", "orders", "client", 6, 14, "rc", "r"),
        span("POST /internal/reservations", "inventory", "server", 8, 12, "i", "rc"),
    ]

    assert call_hops(trace) == [48 - 44, 8 - 4]


def functions_trace(with_final_step: bool = True) -> list[Span]:
    trace = [
        span("POST /api/orders", "gateway", "server", 0, 30, "g"),
        span("POST", "gateway", "client", 1, 29, "gc", "g"),
        span("POST /api/orders", "place-order", "server", 3, 27, "p", "gc"),
        span("GET", "place-order", "client", 4, 10, "pc", "p"),
        span("GET /internal/products", "catalog-read", "server", 5, 9, "c", "pc"),
        span("POST", "place-order", "client", 12, 20, "pub", "p"),
        span("POST /", "broker", "server", 14, 18, "b", "pub"),
        span("receive shop.order.placed", "broker", "consumer", 15, 16, "rv1", "pub"),
        span("send shop.order.placed", "broker", "client", 17, 40, "s1", "rv1"),
        span("process shop.order.placed", "reserve-stock", "server", 22, 32, "e1", "s1"),
        span("send shop.stock.reserved", "broker", "client", 36, 60, "s2", "e1"),
        span("process shop.stock.reserved", "charge-payment", "server", 38, 50, "e2", "s2"),
        span("send shop.payment.succeeded", "broker", "client", 55, 80, "s3", "e2"),
        span("process shop.payment.succeeded", "finalize-order", "server", 57, 70, "e3", "s3"),
    ]
    if with_final_step:
        trace.append(span("confirm order", "finalize-order", "internal", 60, 65, "f", "e3"))
    # after the order is final: not on the path the client waits for
    trace.append(span("process shop.order.confirmed", "commit-stock", "server", 90, 99, "e4"))
    return trace


def test_an_orders_path_to_final_on_functions_is_its_calls_then_its_events():
    assert event_hops(functions_trace()) == [
        3 - 1,  # the gateway's request reaches place-order (its answer is off the path)
        6 - 4,  # the catalog call
        22 - 12,  # the publish to the broker until reserve-stock has the event
        38 - 32,  # reserve-stock answered: the reply reaches charge-payment
        57 - 50,
    ]


def test_a_trace_whose_final_step_is_not_written_yet_gives_no_hops():
    assert event_hops(functions_trace(with_final_step=False)) == []


def test_the_floor_adds_the_median_orders_hops_and_the_extra_commits_to_the_monolith():
    found = floor("microservices", 10.0, [[1, 2], [3, 4], [5, 6]], commit_ms=0.5, poll_ms=0)

    assert found == Floor(10.0, 2, 7.0, 7, 0.5, 0.0)
    assert found.total == pytest.approx(10 + 7 + 7 * 0.5)
    assert floor("functions", 10.0, [], commit_ms=0.5) is None
