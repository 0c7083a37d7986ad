"""Settings of a service: the shop's own, plus its database, its peers and its timeouts."""

from __future__ import annotations

from pydantic import Field

from microservices.common.upstream import longest_call
from shop.settings import SplitStageSettings

SAGA_LEASE_MARGIN = 10.0  # seconds


class ServiceSettings(SplitStageSettings):
    """Read once from the environment. DATABASE_URL is the service's own database."""

    # Empty: a SQLite file named after the service in THREEFOLD_DATA_DIR, refused in production.
    database_url: str = ""
    payment_timeout: float = Field(2.0, gt=0)
    # The orders service re-drives sagas that stopped half way.
    redrive_interval: float = Field(2.0, gt=0)
    redrive_after: float = Field(5.0, ge=0)

    @property
    def saga_lease(self) -> float:
        """Seconds an order saga may hold its order: its longest possible run (four retried
        calls: reserve, cancel, sell or release, notify; and the charge), plus a margin for
        its database writes. A holder that crashed frees its orders after this long."""
        retried = longest_call(self.connect_timeout, self.call_timeout)
        return 4 * retried + self.connect_timeout + self.payment_timeout + SAGA_LEASE_MARGIN

    def database_for(self, service: str) -> str:
        from shop.persistence.database import database_url

        return self.database_url or database_url(None, default=service, production=self.production)
