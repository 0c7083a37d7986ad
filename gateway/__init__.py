"""The API gateway: the stage's one public base URL, with the monolith's public API.

It routes /api/... to the service that owns the path, forwards method, path, query,
headers and body unchanged (bounded), gives every request an id, and turns upstream
failures into problem+json (503, 504, 502) instead of a 500 or a hang.

    settings.py  GatewaySettings: the services' URLs and the timeouts
    routes.py    which service answers which public path (and why nothing else is routed)
    proxy.py     one forwarded call: headers, body limit, timeouts, failures as problems
    health.py    /readyz: every service's /readyz, concurrently
    app.py       create_app(): the ASGI app uvicorn serves
"""
