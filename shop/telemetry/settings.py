"""How a process traces and logs, from the environment (the same names in every stage)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TelemetrySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    # TRACING=0 turns spans off (no provider: the API's no-op tracer; ids stay out of logs).
    # On (the default), spans are made only where they have somewhere to go: TRACES_DIR
    # (the local launcher sets it) or a collector (k8s/components/observability sets it).
    tracing: bool = True
    # Where spans go as OTLP JSON lines, one file per process (<name>-<pid>.jsonl); the
    # launcher sets data/<stage>/traces. Unset: no file.
    traces_dir: Path | None = None
    # The share of new traces kept (a request without a sampled `traceparent`). A caller's
    # sampled traceparent is always followed, so one request can be traced on purpose
    # while a load run keeps only a few.
    trace_sample_ratio: float = Field(1.0, ge=0.0, le=1.0)
    # Set on the cluster by k8s/components/observability: spans also go to this collector
    # (OTLP over HTTP; the exporter reads the OTEL_EXPORTER_OTLP_* settings itself).
    otel_exporter_otlp_endpoint: str | None = None
    otel_exporter_otlp_traces_endpoint: str | None = None
    # TRACE_SQL=1: a client span per SQL statement (shop/telemetry/sql.py), off by default.
    trace_sql: bool = False
    # json: one JSON object per line (the default everywhere); text: for reading by eye.
    log_format: Literal["json", "text"] = "json"

    @property
    def has_destination(self) -> bool:
        return self.traces_dir is not None or self.exports_to_collector

    @property
    def exports_to_collector(self) -> bool:
        return bool(self.otel_exporter_otlp_endpoint or self.otel_exporter_otlp_traces_endpoint)
