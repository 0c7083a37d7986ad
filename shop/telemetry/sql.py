"""Client spans for SQL statements (OpenTelemetry's SQLAlchemy instrumentation), on demand.

    trace_queries(database)   # after setup(): one span per statement on its engines

Off unless TRACE_SQL=1 (and tracing is on): the saga step spans already show where
an order's time goes, and each statement span adds to tracing's own cost (measured on
the monolith: a product read costs about 2.0x the CPU of an untraced one with server
spans, 2.15x with statement spans too; an order runs about fifteen statements).
Turned on, a statement's span nests under the step that ran it, so the monolith's
trace shows every query of its one transaction. Any stage can call it on its Database.
"""

from __future__ import annotations

from opentelemetry import trace

from shop.persistence.database import Database
from shop.telemetry.settings import TelemetrySettings

INSTRUMENTATION = "opentelemetry.instrumentation.sqlalchemy"
_traced: set[int] = set()  # the engines already listened to, in this process


def trace_queries(database: Database, settings: TelemetrySettings | None = None) -> bool:
    """Listen to `database`'s engines when TRACE_SQL=1 and tracing is on; True if it does."""
    settings = settings or TelemetrySettings()
    if not settings.trace_sql or isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return False
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import get_meter

    # The instrumentor's own EngineTracer, engine by engine: its instrument() would also
    # wrap every create_engine and Engine.connect of the process (a span per connect).
    tracer = trace.get_tracer(INSTRUMENTATION)
    usage = get_meter(INSTRUMENTATION).create_up_down_counter("db.client.connections.usage")
    for engine in database.engines:
        if id(engine) not in _traced:
            EngineTracer(tracer, engine, usage)
            _traced.add(id(engine))
    return True
