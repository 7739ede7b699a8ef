"""Running the approvals page: a threaded WSGI server (Werkzeug's) on one address until Ctrl-C.

Werkzeug's server is small and pure Python, which is all a page for a few people needs; on a
lab network it belongs behind a TLS reverse proxy (docs/human.md). It logs no request lines:
they would carry the token of a first visit.
"""

from __future__ import annotations

import errno
import signal
import socket
import threading
from typing import Callable

from werkzeug.serving import WSGIRequestHandler, make_server

from matterstack.errors import ConfigError

from matterstack_ops_human.web.access import TOKEN_PARAMETER, Access
from matterstack_ops_human.web.pages import ApprovalsApp

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        """Nothing: a request line may carry the token."""


def page_url(host: str, port: int, access: Access | None) -> str:
    """The address to open; with the token in it when ``access`` is given."""
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    return f"{url}?{TOKEN_PARAMETER}={access.token}" if access else url


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``; :class:`ConfigError` in one line when it cannot."""
    where = "matterstack human serve"
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {host} is in use", where=where,
                              fix="give another with --port N, or --port 0 for any free port") from None
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", where=where,
                          fix="--host 127.0.0.1 (this machine) or an address of one of its interfaces") from None


def serve(app: ApprovalsApp, host: str, port: int, *, token_in_url: bool, say: Callable[[str], None]) -> None:
    """Serve ``app`` on ``host:port`` (port 0: any free one) until Ctrl-C or SIGTERM."""
    listening = listen(host, port)
    try:
        # Werkzeug gets the socket bound here: binding itself, it prints its own message and exits 1.
        server = make_server(host, port, app, threaded=True, request_handler=QuietHandler, fd=listening.fileno())
    finally:
        listening.close()  # the server holds a duplicate
    say(f"Approvals page for the project in {app.project.folder}:")
    say(f"  {page_url(host, server.port, app.access if token_in_url else None)}")
    if not token_in_url:
        say("  sign in with the password of --password-file")
    if host not in LOCAL_HOSTS:
        say(f"Listening on {host}, not only on this machine: anyone who can reach it and has the token can answer."
            " Put it behind a TLS reverse proxy (docs/human.md).")
    # A service manager's SIGTERM asks the loop to end, as Ctrl-C does, from another thread
    # (shutdown waits for the loop). Nothing is raised into the main thread, so a stop that comes
    # at any moment after this line, even before the loop starts, ends in "stopped".
    signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(target=server.shutdown, daemon=True).start())
    try:
        say("Ctrl-C stops it.")
        server.serve_forever()  # returns on Ctrl-C (Werkzeug's catches KeyboardInterrupt) or shutdown
    except KeyboardInterrupt:
        pass  # a Ctrl-C that came outside Werkzeug's loop
    finally:
        server.server_close()
    say("stopped")
