"""A stand-in service for the launcher tests: a stdlib HTTP server answering /readyz.

python tests/launcher/fake_service.py --port 8123 [--delay 0.5] [--status 503] [--no-listen]
    [--child] [--child-ignores-term] [--ignore-term] [--exit-code 3] [--lines 5]
    [--die-after 0.5] [--chatter 300] [--instance other | --anonymous]
python tests/launcher/fake_service.py --fd 0 ...   (serve on the socket the launcher bound)

It prints `pid <pid>` at start, `child <pid>` when it spawned a sleeping child,
`listening on <port>` once the server is up. With --exit-code it prints --lines
lines (the last being `last words`) and exits before it ever listens; with
--die-after it exits with code 4 that many seconds after it started listening;
with --chatter it prints that many `chatter <n>` lines before it listens.
Its answers are JSON naming the process, `{"path", "status", "instance"}`, the
instance being THREEFOLD_INSTANCE (or --instance: an impostor).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> int:
    parser = argparse.ArgumentParser()
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", type=int, help="bind this port itself")
    where.add_argument("--fd", type=int, help="serve on this already bound socket")
    parser.add_argument("--instance", help="the identity to claim (default: its own)")
    parser.add_argument("--anonymous", action="store_true", help="claim no identity at all")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before listening")
    parser.add_argument("--status", type=int, default=200, help="what /readyz answers")
    parser.add_argument("--no-listen", action="store_true", help="never open the port")
    parser.add_argument("--child", action="store_true", help="spawn a sleeping child")
    parser.add_argument("--child-ignores-term", action="store_true", help="... ignoring SIGTERM")
    parser.add_argument("--ignore-term", action="store_true", help="ignore SIGTERM")
    parser.add_argument("--exit-code", type=int, help="exit with this code before listening")
    parser.add_argument("--lines", type=int, default=1, help="lines to print before exiting")
    parser.add_argument("--chatter", type=int, default=0, help="lines to print at start")
    parser.add_argument("--die-after", type=float, help="exit (code 4) this long after listening")
    args = parser.parse_args()

    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print(f"pid {os.getpid()}", flush=True)
    if args.child or args.child_ignores_term:
        ignore = (
            "signal.signal(signal.SIGTERM, signal.SIG_IGN); " if args.child_ignores_term else ""
        )
        code = f"import signal, time; {ignore}print('child up', flush=True); time.sleep(600)"
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        assert child.stdout is not None
        child.stdout.readline()  # its SIGTERM disposition is set once it says it is up
        print(f"child {child.pid}", flush=True)
    if args.exit_code is not None:
        for number in range(1, args.lines):
            print(f"output line {number}", flush=True)
        print("last words", flush=True)
        return args.exit_code
    for number in range(1, args.chatter + 1):
        print(f"chatter {number}")
    sys.stdout.flush()
    time.sleep(args.delay)
    if args.no_listen:
        while True:
            time.sleep(60)

    status = args.status
    instance = None if args.anonymous else args.instance or os.environ.get("THREEFOLD_INSTANCE")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = status if self.path == "/readyz" else 200
            body = json.dumps({"path": self.path, "status": code, "instance": instance}).encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *log_args) -> None:
            print(f"request {format % log_args}", flush=True)

    if args.fd is None:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    else:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        server.socket = socket.socket(fileno=args.fd)
    print(f"listening on {server.socket.getsockname()[1]}", flush=True)
    if args.die_after is not None:
        threading.Timer(args.die_after, os._exit, args=(4,)).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
