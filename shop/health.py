"""The answer of /healthz and /readyz on every process of every stage.

Its own module, not shop/schemas.py: an event function answers its probes with it
but needs none of the API's other bodies, whose pydantic models would cost its cold
start (benchmarks/function_cold_start.py). shop.schemas exports it with the rest.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shop.instance import this_instance


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = {}
    instance: str | None = Field(
        default_factory=this_instance,
        description="The identity the launcher gave this process (THREEFOLD_INSTANCE), if any",
    )
