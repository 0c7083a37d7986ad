"""/readyz of the gateway: ready when every service it routes to says it is ready.

The services are asked at the same time, each with a short timeout, so one hanging
service makes /readyz answer 503 quickly (naming it) instead of making it hang.
"""

from __future__ import annotations

import asyncio

import httpx

from shop.schemas import Health


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
    results = await asyncio.gather(
        *(check(client, url, timeout, request_id) for url in urls.values())
    )
    checks = dict(zip(urls, results, strict=True))
    ready = all(result == "ok" for result in results)
    return Health(status="ok" if ready else "unavailable", checks=checks)
