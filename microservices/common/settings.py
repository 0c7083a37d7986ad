"""Settings of a service: the shop's own, plus its database, its peers and its timeouts."""

from __future__ import annotations

from pydantic import Field

from shop.settings import ShopSettings


class ServiceSettings(ShopSettings):
    """Read once from the environment. DATABASE_URL is the service's own database."""

    database_url: str = ""  # empty: a SQLite file named after the service in THREEFOLD_DATA_DIR
    catalog_url: str = "http://127.0.0.1:8101"
    inventory_url: str = "http://127.0.0.1:8102"
    orders_url: str = "http://127.0.0.1:8103"
    payments_url: str = "http://127.0.0.1:8104"
    notifications_url: str = "http://127.0.0.1:8105"
    # Seconds. A call that takes longer is given up (and compensated where it changes state).
    connect_timeout: float = Field(1.0, gt=0)
    call_timeout: float = Field(3.0, gt=0)
    payment_timeout: float = Field(2.0, gt=0)
    # The orders service re-drives sagas that stopped half way.
    redrive_interval: float = Field(2.0, gt=0)
    redrive_after: float = Field(5.0, ge=0)
    log_level: str = "INFO"

    def database_for(self, service: str) -> str:
        from shop.persistence.database import database_url

        return self.database_url or database_url(None, default=service)
