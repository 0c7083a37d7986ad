"""The broker's settings, read once from the environment (pydantic-settings).

The manifests say what is wired to what; the environment says where things run
locally. A Knative Service has a cluster address, a local process has a port, so
BROKER_SUBSCRIBERS maps each Service name to the base URL of its process.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]


class BrokerSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    # Manifest files or folders (every *.yaml / *.yml inside), separated by "," or the
    # path separator; relative paths are relative to the project root.
    broker_manifests: str = "k8s/functions"
    # {"reserve-stock": "http://127.0.0.1:8201", ...}: where a subscriber.ref resolves.
    broker_subscribers: dict[str, str] = Field(default_factory=dict)
    # Seconds between the emulated PingSource's events (a cron schedule has minute
    # granularity, far too coarse for tests); 0 disables the PingSources.
    ping_interval: float = Field(60.0, ge=0)
    # A JSON-lines file that receives every dead letter too (the store is in memory).
    dead_letter_file: Path | None = None
    # The namespace of objects whose manifest and kustomization name none.
    broker_namespace: str = "default"
    # Seconds the deliveries still running at shutdown are given before they are dropped.
    broker_shutdown_grace: float = Field(5.0, ge=0)
    broker_max_body_bytes: int = Field(1024 * 1024, ge=1024)
    # Deliveries in flight (waiting for a retry included) per subscriber; an event for a
    # full subscriber is refused: 503 with Retry-After at the ingress.
    broker_subscriber_capacity: int = Field(100, ge=1)
    # Seconds a refused publisher is told to wait (Retry-After).
    broker_retry_after: int = Field(1, ge=1)
    # Each wait between attempts is stretched by a random share up to this (0: none)...
    broker_backoff_jitter: float = Field(0.2, ge=0, le=1)
    # ... and is never longer than this many seconds.
    broker_backoff_cap: float = Field(30.0, gt=0)
    log_level: str = "INFO"

    def manifest_paths(self) -> list[Path]:
        parts = [p.strip() for p in re.split(f"[,{re.escape(os.pathsep)}]", self.broker_manifests)]
        return [p if p.is_absolute() else ROOT / p for p in map(Path, filter(None, parts))]
