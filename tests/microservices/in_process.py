"""Asking a service app in-process: made by its factory, no lifespan, no server."""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from microservices.common.settings import ServiceSettings


@contextmanager
def kept_logging() -> Iterator[None]:
    """build_service configures the root logger for a service process: undone after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def service_app(name: str, data: Path) -> FastAPI:
    """The service's app, its database a SQLite file in `data` (never opened here)."""
    module = importlib.import_module(f"microservices.{name}.app")
    return module.create_app(ServiceSettings(database_url=f"sqlite:///{data / name}.sqlite"))


def ask(app: FastAPI, method: str, path: str, **kwargs) -> httpx.Response:
    async def one_request() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(one_request())
