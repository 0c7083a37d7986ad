"""Which headers cross the gateway, both ways, and why.

- Hop-by-hop headers are dropped both ways (they describe one connection, not the
  message), and so is Host: the service is reached at its own address.
- X-Forwarded-For gets the client's address, X-Request-ID the request's id.
- The answer gets a Content-Length that fits the body the gateway sends, and loses
  any Location that is not a path on the gateway itself.
"""

from __future__ import annotations

HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"te", b"trailer", b"transfer-encoding", b"upgrade"}
)
# Not hop-by-hop, but the gateway sets them itself.
REQUEST_OWN = frozenset(
    {b"host", b"content-length", b"expect", b"x-forwarded-for", b"x-request-id"}
)
# uvicorn adds its own Date and Server; the length is the gateway's to state.
RESPONSE_OWN = frozenset({b"content-length", b"date", b"server", b"x-request-id"})
NO_BODY_STATUS = frozenset({204, 304})

Headers = list[tuple[bytes, bytes]]


def _connection_listed(headers: Headers) -> set[bytes]:
    """Headers named in Connection are hop-by-hop too (RFC 9110, 7.6.1)."""
    return {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.split(b",")
    }


def _is_hop_by_hop(name: bytes, listed: set[bytes]) -> bool:
    return name in HOP_BY_HOP or name.startswith(b"proxy-") or name in listed


def request_headers(raw: Headers, client: tuple[str, int] | None, request_id: str) -> Headers:
    """The client's headers for the service: end-to-end ones, plus forwarding and the id.

    X-Forwarded-For gets the peer's address appended, unless uvicorn already took the
    client from that header (its proxy-headers default trusts 127.0.0.1, and then
    `client` is one of its entries, port 0): the peer was a proxy it trusts, whose
    address is gone, and the chain already names the client.
    """
    listed = _connection_listed(raw)
    headers: Headers = []
    forwarded_for: list[bytes] = []
    for name, value in raw:
        lower = name.lower()
        if lower == b"x-forwarded-for":
            forwarded_for.append(value)
        elif not _is_hop_by_hop(lower, listed) and lower not in REQUEST_OWN:
            headers.append((lower, value))
    resolved_by_uvicorn = bool(forwarded_for) and client is not None and client[1] == 0
    if client and not resolved_by_uvicorn:
        forwarded_for.append(client[0].encode("latin-1"))
    if forwarded_for:
        headers.append((b"x-forwarded-for", b", ".join(forwarded_for)))
    headers.append((b"x-request-id", request_id.encode("latin-1")))
    return headers


def _public_location(value: bytes) -> bool:
    """A path on the gateway's own host. An absolute URL from a service can only name that
    service's internal address (a redirect made behind the gateway), so it is dropped."""
    return value.startswith(b"/") and not value.startswith((b"//", b"/\\"))


def response_headers(status: int, raw: Headers, body: bytes, method: str) -> Headers:
    """The service's headers for the client, with a Content-Length that fits the body."""
    listed = _connection_listed(raw)
    headers: Headers = []
    declared: bytes | None = None
    for name, value in raw:
        lower = name.lower()
        if lower == b"content-length":
            declared = value
        if lower == b"location" and not _public_location(value):
            continue
        if not _is_hop_by_hop(lower, listed) and lower not in RESPONSE_OWN:
            headers.append((lower, value))
    if status < 200 or status in NO_BODY_STATUS:
        return headers
    if method == "HEAD":  # no body, but the length of the one a GET would get
        return [*headers, (b"content-length", declared)] if declared else headers
    return [*headers, (b"content-length", str(len(body)).encode())]
