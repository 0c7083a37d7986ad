"""Settings of a function, read once from the environment when it starts."""

from __future__ import annotations

from pydantic import Field

from shop.persistence.database import database_url
from shop.settings import ShopSettings


class FunctionSettings(ShopSettings):
    # Knative's SinkBinding injects K_SINK: where a function publishes its events (the
    # broker's ingress). Locally the launcher sets it to the local broker.
    k_sink: str = ""
    # The catalog-read function, which place-order asks for prices.
    catalog_url: str = "http://127.0.0.1:8080"
    call_timeout: float = Field(3.0, gt=0)
    # Seconds: redrive-orders publishes again what waited longer than this. Unset, the
    # PingSource's `older_than_seconds` decides (k8s/functions/pingsource.yaml); set, it
    # overrides that. (Not the orders service's REDRIVE_AFTER, which has no PingSource.)
    redrive_older_than: float | None = Field(None, ge=0)
    # A pending charge older than this was left by an attempt that died (the charge
    # trigger's delivery timeout is 15 s): charge-payment cancels it.
    charge_stale_after: float = Field(20.0, gt=0)
    # Inbox retention: an event id is kept this long for deduplication, then pruned, at
    # most INBOX_PRUNE_BATCH rows at a time, at most once every INBOX_PRUNE_EVERY seconds.
    inbox_retention_days: float = Field(7.0, gt=0)
    inbox_prune_batch: int = Field(1000, ge=1)
    inbox_prune_every: float = Field(60.0, ge=0)
    log_level: str = "INFO"

    def database(self, context: str) -> str:
        """`<CONTEXT>_DATABASE_URL`, else `DATABASE_URL`, else a SQLite file of the context
        (refused in production)."""
        return database_url(context, default=context, production=self.production)
