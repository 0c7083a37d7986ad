"""Listening sockets bound by the launcher, so that no two processes can get one port.

Probing for a free port and letting the process bind it later leaves a gap in
which another process can take it (two services on one port, one answering the
other's readiness check). Instead a plan binds each socket when it is made, so
the port is taken from that moment and known to every peer, and the launcher
hands the bound socket to the process as its standard input (file descriptor 0,
as inetd and supervisor do): gunicorn `--bind fd://0`, uvicorn `--fd 0`,
hypercorn `fd://0`. The launcher then closes its own copy, so a process that
dies closes its port and its callers see "connection refused", not a hang.
"""

from __future__ import annotations

import errno
import socket

from stages.errors import LaunchError

HOST = "127.0.0.1"
LISTEN_FD = 0  # where a process finds the socket it serves on
BACKLOG = 128


class PortTaken(LaunchError):
    """The port asked for is in use by another process."""


class Listener:
    """A TCP socket on 127.0.0.1, bound and listening from the moment it is made.

    Port 0 picks a free port; `port` is the port it got. After the process it was
    handed to has exited, `socket()` binds the same port again (a restart).
    """

    def __init__(self, port: int = 0) -> None:
        self._socket: socket.socket | None = _bind(port)
        self.port: int = self._socket.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def socket(self) -> socket.socket:
        """The bound socket, bound again on the same port if it was closed."""
        if self._socket is None:
            self._socket = _bind(self.port)
        return self._socket

    def close(self) -> None:
        """Drop the launcher's copy (the process keeps its own)."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __repr__(self) -> str:
        return f"Listener({HOST}:{self.port})"


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Lets a restart bind again over connections left in TIME_WAIT; on Linux it still
    # refuses a port that another socket listens on.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortTaken(
                f"port {port} on {HOST} is already in use (is this stage already running?); "
                "stop that process or choose another port (--port, or PORT= for make)"
            ) from None
        raise
    return sock
