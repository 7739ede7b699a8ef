"""How long the lab API waits for a client and how many it serves at once.

Each connection holds a thread while it is served, so a client that connects and sends
nothing (or sends a byte now and then) would hold one for ever. :class:`ConnectionGuard`
gives each connection a deadline for its request line and headers, then another for its
body, and a watchdog thread shuts the socket of a connection past its deadline; a connection
over the cap is answered 503 at once, without a thread.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Callable

import attrs

HEADER_TIMEOUT_SECONDS = 10.0
BODY_TIMEOUT_SECONDS = 120.0
MAX_CONNECTIONS = 32
WATCH_INTERVAL_SECONDS = 0.1


@attrs.frozen
class ConnectionLimits:
    """The lab API's limits: seconds from connecting to the end of the headers, seconds to
    receive a body, connections served at once."""

    header_timeout: float = HEADER_TIMEOUT_SECONDS
    body_timeout: float = BODY_TIMEOUT_SECONDS
    max_connections: int = MAX_CONNECTIONS

    def __attrs_post_init__(self):
        if self.header_timeout <= 0 or self.body_timeout <= 0:
            raise ValueError("the lab API's timeouts must be positive")
        if self.max_connections < 1:
            raise ValueError("the lab API must serve at least one connection at a time")


def busy_response(limits: ConnectionLimits) -> bytes:
    """What a connection over the cap gets: 503, ``Retry-After``, and why, as JSON."""
    body = (json.dumps({"error": f"the lab API serves {limits.max_connections} connections at a time;"
                                 f" try again shortly"}) + "\n").encode()
    head = (f"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    return head + body


class ConnectionGuard:
    """The slots and deadlines of a server's connections, and the watchdog that enforces them."""

    def __init__(self, limits: ConnectionLimits, log: Callable[[str], None]):
        self.limits = limits
        self._log = log
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        self._deadlines: dict[socket.socket, tuple[float, str, str]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="lab-api-watchdog", daemon=True)

    def take_slot(self) -> bool:
        """Whether a connection may be served now (then :meth:`give_slot` when it ends)."""
        return self._slots.acquire(blocking=False)

    def give_slot(self) -> None:
        self._slots.release()

    def refuse(self, connection: socket.socket, client: str) -> None:
        """Answer a connection over the cap with 503, never waiting on the client for long."""
        try:
            connection.settimeout(1.0)
            connection.sendall(busy_response(self.limits))
        except OSError:
            pass
        self._log(f"lab API: {client} refused: {self.limits.max_connections} connections are being served")

    def expect(self, connection: socket.socket, what: str, seconds: float, client: str) -> None:
        """``connection`` must deliver ``what`` within ``seconds`` from now, or it is closed."""
        with self._lock:
            self._deadlines[connection] = (time.monotonic() + seconds, f"{what} did not arrive within {seconds:g} s", client)

    def received(self, connection: socket.socket) -> None:
        """What ``connection`` was expected to send has arrived: no deadline any more."""
        with self._lock:
            self._deadlines.pop(connection, None)

    def start(self) -> None:
        self._watchdog.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._watchdog.is_alive():
            self._watchdog.join()

    def _watch(self) -> None:
        while not self._stopping.wait(WATCH_INTERVAL_SECONDS):
            now = time.monotonic()
            with self._lock:
                late = [(c, why, client) for c, (deadline, why, client) in self._deadlines.items() if deadline <= now]
                for connection, _, _ in late:
                    del self._deadlines[connection]
            for connection, why, client in late:
                try:
                    connection.shutdown(socket.SHUT_RDWR)  # wakes the handler's blocked read
                except OSError:
                    pass
                self._log(f"lab API: {client} disconnected: {why}")
