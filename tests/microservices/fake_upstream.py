"""A stand-in service for the gateway tests: a stdlib HTTP/1.1 server that says what it got.

python tests/microservices/fake_upstream.py --name catalog --port 8123 [--not-ready] [--slow 5]

Any method, any path: a JSON echo of the service name, method, raw path, raw query,
body and received headers, and the instance its launcher gave it (THREEFOLD_INSTANCE).
Some paths (matched on their last segment) answer otherwise:
    /readyz     200, or 503 with --not-ready
    .../slow    sleeps --slow seconds first (longer than the gateway's timeout)
    .../problem 409 application/problem+json (PROBLEM_BODY), with WWW-Authenticate,
                Location, Allow, and hop-by-hop headers the gateway must drop
    .../big     BIG_SIZE bytes of application/octet-stream
    .../gzip    a gzip-encoded JSON body with Content-Encoding: gzip
    .../redirect 307 with a Location on this service's own address and port
    .../empty   204 without a body
    .../hangup  closes the connection without any answer
A query parameter sleep=<seconds> delays any answer.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

PROBLEM_BODY = (
    b'{"type": "https://threefold.example/problems/already-exists", "title": "Already exists",'
    b' "status": 409, "detail": "from the fake \\u00e9 upstream", "instance": "/x"}'
)
BIG_SIZE = 2_000_000
GZIPPED = {"gzipped": True}
JSON = [("Content-Type", "application/json")]
INSTANCE = os.environ.get("THREEFOLD_INSTANCE")  # the launcher checks it in readiness answers


def big_body() -> bytes:
    pattern = bytes(range(256))
    return (pattern * (BIG_SIZE // len(pattern) + 1))[:BIG_SIZE]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True, help="the service it pretends to be")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--not-ready", action="store_true", help="/readyz answers 503")
    parser.add_argument("--slow", type=float, default=5.0, help="seconds .../slow sleeps")
    args = parser.parse_args()
    big = big_body()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so the gateway's pool is used
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall

        def answer(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            if status not in (204, 304):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and status not in (204, 304):
                self.wfile.write(body)

        def handle_any(self) -> None:
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            sleep = parse_qs(query).get("sleep")
            if sleep:
                time.sleep(float(sleep[0]))
            last = path.rsplit("/", 1)[-1]
            if path == "/readyz":
                status = 503 if args.not_ready else 200
                ready = {"status": "unavailable" if args.not_ready else "ok", "checks": {}}
                ready["instance"] = INSTANCE
                self.answer(status, json.dumps(ready).encode(), JSON)
            elif last == "slow":
                time.sleep(args.slow)
                self.answer(200, b"{}", JSON)
            elif last == "problem":
                headers = [
                    ("Content-Type", "application/problem+json"),
                    ("WWW-Authenticate", 'Bearer realm="fake"'),
                    ("Location", "/api/products/elsewhere"),
                    ("Allow", "GET, POST"),
                    ("Keep-Alive", "timeout=5"),
                    ("X-Hop", "dropped by the gateway"),
                    ("Connection", "X-Hop"),
                ]
                self.answer(409, PROBLEM_BODY, headers)
            elif last == "big":
                self.answer(200, big, [("Content-Type", "application/octet-stream")])
            elif last == "gzip":
                packed = gzip.compress(json.dumps(GZIPPED).encode())
                self.answer(200, packed, [*JSON, ("Content-Encoding", "gzip")])
            elif last == "redirect":  # a redirect naming this service's own address
                self.answer(307, b"", [("Location", f"http://127.0.0.1:{args.port}{path}/")])
            elif last == "empty":
                self.answer(204, b"", [])
            elif last == "hangup":
                self.close_connection = True
            else:
                echo = {
                    "service": args.name,
                    "method": self.command,
                    "path": path,
                    "query": query,
                    "body": body.decode("latin-1"),
                    "headers": [[k.lower(), v] for k, v in self.headers.items()],
                    "instance": INSTANCE,
                }
                self.answer(200, json.dumps(echo).encode(), JSON)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any

        def log_message(self, format: str, *log_args) -> None:
            pass  # the gateway's log is what the tests read

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address) -> None:
            pass  # the gateway gave up on a slow answer: a broken pipe here is expected

    server = Server(("127.0.0.1", args.port), Handler)
    print(f"{args.name} listening on {args.port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
