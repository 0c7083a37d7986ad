"""The API gateway: the stage's one public base URL, with the monolith's public API.

Used by both split stages (microservices and functions), so it belongs to neither.
It routes /api/... to the service that owns the path, forwards method, path, query,
headers and body unchanged (bounded), gives every request an id, and turns upstream
failures into problem+json (503, 504, 502) instead of a 500 or a hang.

    app.py           create_app(): the ASGI app uvicorn serves; only assembles the rest
    settings.py      GatewaySettings: the services' URLs and the timeouts
    routes.py        which service answers which public path (and why nothing else is routed)
    request_log.py   around every request: its id, an unhandled error as 500, one log line
    head_limits.py   the request-head limits (414, 431) every stage enforces
    proxy.py         forwarding one request: body, headers and timeout, answer or problem
    request_body.py  the request body, read whole but bounded (413)
    headers.py       which headers cross the gateway, both ways
    upstream.py      one call to a service: the pooled connections, its URL, the whole answer
    failures.py      a failed call as problem+json (503, 504, 502)
    health.py        /healthz, and /readyz: every service's /readyz, concurrently
    storefront.py    the shop's web page at `/` (shop/web/storefront.py), as the gateway sends it
"""
