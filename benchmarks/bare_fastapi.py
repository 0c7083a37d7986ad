"""The baseline of a service's overhead: a FastAPI app with nothing but /healthz and /readyz.

Served with the services' own uvicorn command (stages/definitions.py), it shows what
FastAPI on that server costs on its own, so a service's /healthz can be read as a
ratio to it (benchmarks/service_overhead.py).
"""

from __future__ import annotations

from fastapi import FastAPI

from shop.schemas import Health


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> Health:
        return Health(status="ok")

    @app.get("/readyz")
    async def readyz() -> Health:  # names the process, as the launcher asks
        return Health(status="ok")

    return app
