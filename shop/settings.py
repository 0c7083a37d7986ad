"""Settings every stage reads from the environment (pydantic-settings)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shop.domain.payments import ProviderSettings

LOCAL_ADMIN_TOKEN = "local-admin-token"  # noqa: S105 - documented local default, refused in production


class ShopSettings(BaseSettings):
    """`THREEFOLD_ENV=production` refuses the local admin token (here) and the SQLite
    default (where a process finds its database: shop.persistence.database.database_url)."""

    model_config = SettingsConfigDict(extra="ignore")

    threefold_env: Literal["local", "test", "production"] = "local"
    admin_token: str = Field(LOCAL_ADMIN_TOKEN, min_length=8)
    payment_latency_ms: int = Field(0, ge=0)
    payment_failure_rate: float = Field(0.0, ge=0.0, le=1.0)
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    # Seconds an Idempotency-Key of POST /api/orders is kept; after that it may be reused.
    idempotency_key_ttl: float = Field(24 * 3600, gt=0)

    @model_validator(mode="after")
    def _no_placeholder_in_production(self) -> ShopSettings:
        if self.production and self.admin_token == LOCAL_ADMIN_TOKEN:
            raise ValueError("ADMIN_TOKEN must be set to a secret in production")
        return self

    @property
    def production(self) -> bool:
        return self.threefold_env == "production"

    @property
    def provider(self) -> ProviderSettings:
        return ProviderSettings(self.payment_latency_ms, self.payment_failure_rate)


class SplitStageSettings(ShopSettings):
    """What every process of the two split stages reads the same way: where the five
    contexts answer, and how long a call to one of them may take. The services and the
    gateway both subclass it, so the whole stage spells CATALOG_URL, CALL_TIMEOUT ... one
    way and the launcher can hand every process the same environment."""

    catalog_url: str = "http://127.0.0.1:8101"
    inventory_url: str = "http://127.0.0.1:8102"
    orders_url: str = "http://127.0.0.1:8103"
    payments_url: str = "http://127.0.0.1:8104"
    notifications_url: str = "http://127.0.0.1:8105"
    # Seconds. A call that takes longer is given up (and compensated where it changes state).
    connect_timeout: float = Field(1.0, gt=0)
    call_timeout: float = Field(3.0, gt=0)
    log_level: str = "INFO"
    # One line per request (ACCESS_LOG=1), off by default like the monolith's gunicorn
    # access log: every stage logs the same, and a line through the launcher's pipe per
    # request costs more than a service's /healthz itself.
    access_log: bool = False
