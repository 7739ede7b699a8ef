"""A TCP proxy that adds latency: every chunk of bytes is forwarded ``delay`` seconds after
it arrived, in each direction, keeping order. Put between an SSH client and sshd it turns
loopback into a link of ``2 * delay`` round-trip time (bandwidth is not limited): a tick's
cost then grows with its round trips, as over a real network.

    with DelayProxy(("127.0.0.1", 22222), delay=0.025) as port:
        ...  # connect to 127.0.0.1:port
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque


class DelayProxy:
    """Listens on a free loopback port; each connection is forwarded to ``target``."""

    def __init__(self, target: tuple[str, int], delay: float):
        self.target = target
        self.delay = delay
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.closed = threading.Event()

    def __enter__(self) -> int:
        threading.Thread(target=self._accept, daemon=True).start()
        return self.port

    def __exit__(self, *exc) -> None:
        self.closed.set()
        self.server.close()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._pipe(client, upstream)
            self._pipe(upstream, client)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        """Two threads per direction: one reads and stamps, one sends when the stamp is due."""
        queue: deque[tuple[float, bytes]] = deque()
        ready = threading.Condition()

        def read() -> None:
            while True:
                try:
                    data = source.recv(65536)
                except OSError:
                    data = b""
                with ready:
                    queue.append((time.monotonic() + self.delay, data))
                    ready.notify()
                if not data:
                    return

        def send() -> None:
            while True:
                with ready:
                    while not queue:
                        ready.wait()
                    due, data = queue.popleft()
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                try:
                    if not data:
                        sink.shutdown(socket.SHUT_WR)
                        return
                    sink.sendall(data)
                except OSError:
                    return

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=send, daemon=True).start()
