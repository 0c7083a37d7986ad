"""What every process calls once when it starts."""

from __future__ import annotations

from shop.telemetry.logs import configure_logging
from shop.telemetry.settings import TelemetrySettings
from shop.telemetry.tracing import configure_tracing


def setup(name: str, log_level: str = "INFO", settings: TelemetrySettings | None = None) -> None:
    """Log lines as JSON with trace and request ids; spans exported as the settings say.

    `name` is the process's name in logs and traces: the service.name of its spans."""
    settings = settings or TelemetrySettings()
    configure_tracing(name, settings)
    configure_logging(name, log_level, settings.log_format)
