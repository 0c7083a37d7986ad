"""The SDK's OTLP JSON file exporter, imported when it first has spans to write.

Its package (opentelemetry.exporter.otlp.json.file) imports the metrics and logs
exporters too, with the SDK's metrics machinery: some 150 ms of CPU that a
function's cold start (process start to its first event answered) would pay.
Spans are exported by the batch processor's own thread, seconds after they end,
so the import happens there, after the first answer.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class FileExporterOnFirstUse(SpanExporter):
    """FileSpanExporter(path), made on the first export (or flush)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._exporter: Any = None
        self._lock = threading.Lock()

    def _made(self) -> Any:
        with self._lock:
            if self._exporter is None:
                from opentelemetry.exporter.otlp.json.file.trace_exporter import (
                    FileSpanExporter,
                )

                self._exporter = FileSpanExporter(self.path)
            return self._exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._made().export(spans)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._exporter.force_flush(timeout_millis) if self._exporter else True

    def shutdown(self) -> None:
        if self._exporter is not None:
            self._exporter.shutdown()
