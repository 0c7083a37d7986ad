"""The gateway's health: /healthz (the process answers) and /readyz (every service it
routes to says it is ready).

The services are asked at the same time, each with a short timeout, so one hanging
service makes /readyz answer 503 quickly (naming it) instead of making it hang.
"""

from __future__ import annotations

import asyncio

import httpx
from starlette.responses import Response

from shop.schemas import Health
from shop.web.asgi import json_response


async def check(client: httpx.AsyncClient, url: str, timeout: float, request_id: str) -> str:
    """'ok', or what went wrong with the service's /readyz."""
    headers = {"X-Request-ID": request_id}
    try:
        async with asyncio.timeout(timeout):
            answer = await client.get(
                url.rstrip("/") + "/readyz", headers=headers, timeout=httpx.Timeout(timeout)
            )
    except httpx.ConnectError:
        return "not reachable"
    except (httpx.TimeoutException, TimeoutError):
        return f"no answer within {timeout:g}s"
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        return f"failed ({type(error).__name__})"
    if answer.status_code != 200:
        return f"/readyz answered {answer.status_code}"
    return "ok"


async def readiness(
    client: httpx.AsyncClient, urls: dict[str, str], timeout: float, request_id: str
) -> Health:
    """Every upstream's check by name; ready only if all of them are."""
    results = await asyncio.gather(
        *(check(client, url, timeout, request_id) for url in urls.values())
    )
    checks = dict(zip(urls, results, strict=True))
    ready = all(result == "ok" for result in results)
    return Health(status="ok" if ready else "unavailable", checks=checks)


def healthz() -> Response:
    """Alive: the process answers (it asks no one)."""
    return json_response(Health(status="ok"))


async def readyz(
    client: httpx.AsyncClient, urls: dict[str, str], timeout: float, request_id: str
) -> Response:
    """200 when every upstream is ready, else 503 with each one's check."""
    health = await readiness(client, urls, timeout, request_id)
    return json_response(health, 200 if health.status == "ok" else 503)
