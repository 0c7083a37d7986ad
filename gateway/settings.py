"""The gateway's settings, read from the environment.

It shares the services' base (shop.settings.SplitStageSettings), so the whole
stage spells CATALOG_URL, CALL_TIMEOUT, MAX_BODY_BYTES ... one way, and the
launcher can hand every process the same environment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gateway import routes
from shop.settings import SplitStageSettings


class GatewaySettings(SplitStageSettings):
    """CALL_TIMEOUT bounds every forwarded call except POST /api/orders (ORDER_TIMEOUT)."""

    # POST /api/orders runs the whole saga (reserve, charge, confirm, notify) inside the
    # call, so it needs far longer than a plain read.
    order_timeout: float = Field(15.0, gt=0)
    # /readyz is polled by the launcher and by probes: it must answer fast even when a
    # service hangs.
    readyz_timeout: float = Field(1.0, gt=0)
    # Pooled connections to all services together; beyond this a call waits for a free one.
    max_upstream_connections: int = Field(256, ge=1)

    # Which stage's route table (gateway/routes.py) the gateway serves.
    route_table: Literal["microservices", "functions"] = "microservices"
    # JSON {upstream: url}; for the microservices table the *_URL settings are the default.
    upstreams: dict[str, str] = Field(default_factory=dict)

    def table(self) -> list[routes.Route]:
        return routes.TABLES[self.route_table]

    def upstream_urls(self) -> dict[str, str]:
        names = routes.upstreams(self.table())
        urls = dict(self.upstreams)
        if self.route_table == "microservices":
            urls = {name: getattr(self, f"{name}_url") for name in names} | urls
        missing = [name for name in names if name not in urls]
        if missing:
            raise ValueError(f"UPSTREAMS has no URL for {', '.join(missing)}")
        return {name: urls[name] for name in names}
