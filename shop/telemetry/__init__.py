"""Observability for every process of every stage: traces, metrics and log lines that join up.

- `setup(name)` (setup.py): called once when a process starts; JSON log lines
  (logs.py) and OpenTelemetry tracing (tracing.py) as TelemetrySettings say.
- tracing.py: the tracer provider, its exporters (OTLP JSON files locally, an
  OTLP collector on the cluster) and `order_span`, the span every saga step opens.
- metrics.py: the Prometheus metrics every stage shares (HTTP, orders, stock,
  payments, re-drives) and the /metrics page; asgi.py times ASGI requests and
  serves /metrics there.
- trace_files.py and waterfall.py: read the local OTLP files back and draw one
  order's trace (`make trace`, the comparison report, the tests).
"""

from shop.telemetry.setup import setup

__all__ = ["setup"]
