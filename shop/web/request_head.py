"""The request head (request line and header fields): its limits, the same on every stage.

gunicorn (the monolith) enforces the line, field and count limits while it parses,
with exactly these numbers (monolith/gunicorn_conf.py); the gateway (uvicorn, in
front of the two split stages) and the monolith's app both check the whole head
with `check_request_head`, so every stage draws the line at the same byte. A head
a server refuses before any app sees it is answered with `raw_problem_response`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from shop.problems import PROBLEM_CONTENT_TYPE, Problem

REQUEST_LINE_LIMIT = 8190  # bytes: method, target and version, without the CRLF
HEADER_FIELD_LIMIT = 8190  # bytes of one field line: name, ": ", value and CRLF
HEADERS_LIMIT = 32 * 1024  # bytes of all field lines together, counted the same way
MAX_HEADER_FIELDS = 100
# What a server buffers of a head before it gives up parsing: room for the largest head
# the limits allow, so any head within them reaches the check below.
MAX_HEAD_BYTES = 64 * 1024

Field = tuple[str | bytes, str | bytes]


def uri_too_long() -> Problem:
    return Problem("uri-too-long", f"the request line is over {REQUEST_LINE_LIMIT} bytes")


def headers_too_large(why: str) -> Problem:
    return Problem("headers-too-large", why)


def check_request_head(
    method: str, target_length: int, version: str, fields: Iterable[Field]
) -> None:
    """414 for a request line over its limit, 431 for header fields over theirs."""
    if len(method) + 1 + target_length + 1 + len(f"HTTP/{version}") > REQUEST_LINE_LIMIT:
        raise uri_too_long()
    count = total = 0
    for name, value in fields:
        size = len(name) + 2 + len(value) + 2
        if size > HEADER_FIELD_LIMIT:
            raise headers_too_large(f"a header field is over {HEADER_FIELD_LIMIT} bytes")
        count, total = count + 1, total + size
    if count > MAX_HEADER_FIELDS:
        raise headers_too_large(f"there are over {MAX_HEADER_FIELDS} header fields")
    if total > HEADERS_LIMIT:
        raise headers_too_large(f"the header fields are over {HEADERS_LIMIT} bytes together")


def refused_head(received: bytes) -> Problem:
    """Why a server could not parse the head it received (`received`: its bytes so far)."""
    line_end = received.find(b"\r\n", 2)  # one empty line may come first (RFC 9112, 2.2)
    if (len(received) if line_end < 0 else line_end) > REQUEST_LINE_LIMIT:
        return uri_too_long()
    if len(received) > REQUEST_LINE_LIMIT + HEADERS_LIMIT:
        return headers_too_large(f"the header fields are over {HEADERS_LIMIT} bytes together")
    return Problem("malformed-request", "the request is not valid HTTP/1.1")


def raw_problem_response(problem: Problem) -> bytes:
    """The whole HTTP/1.1 answer for a server that must write it itself, then close."""
    body = json.dumps(problem.to_dict()).encode()
    head = [
        f"HTTP/1.1 {problem.status} {problem.type.title}",
        f"Content-Type: {PROBLEM_CONTENT_TYPE}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
