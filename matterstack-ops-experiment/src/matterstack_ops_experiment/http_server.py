"""The lab API the agent serves with ``--http-port``, backed by the exchange folder.

``POST /requests`` (``Idempotency-Key: <token>``, JSON ``{"request": {...}, "files":
{name: base64}}``) publishes ``<exchange_dir>/<token>/``: 201 when created, 200 when the
token was already there (nothing new is created). ``GET /requests?token=a&token=b`` and
``GET /requests/<token>`` report each request's state and answer (see
:func:`matterstack_ops_experiment.exchange.request_state`); ``GET
/requests/<token>/files/<name>`` serves a file of the request's folder; ``DELETE
/requests/<token>`` withdraws it. Every call needs ``Authorization: Bearer <token>``.
The server listens on 127.0.0.1 only and runs in a background thread; a connection gets
``header_timeout`` seconds for its request line and headers and ``body_timeout`` for its
body, and at most ``max_connections`` are served at once (see
:mod:`matterstack_ops_experiment.connection_limits`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

from matterstack_ops_experiment import exchange
from matterstack_ops_experiment.connection_limits import MAX_CONNECTIONS, ConnectionGuard, ConnectionLimits
from matterstack_ops_experiment.protocol import REQUEST_FILE, is_token, result_file

MAX_BODY_BYTES = 64 * 1024 * 1024
HOST = "127.0.0.1"


class _Refusal(Exception):
    """An answer other than success: HTTP status and a message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def setup(self) -> None:
        # The guard bounds the wait for the headers and for the body; a socket timeout as long
        # as the longer of them bounds each write to a client that stopped reading.
        limits = self.server.guard.limits
        self.timeout = max(limits.header_timeout, limits.body_timeout)
        super().setup()
        self.server.guard.expect(self.connection, "the request line and headers", limits.header_timeout, self._client())

    def _client(self) -> str:
        host, port = self.client_address[:2]
        return f"{host}:{port}"

    def do_POST(self) -> None:
        self._answer(self._post)

    def do_GET(self) -> None:
        self._answer(self._get)

    def do_DELETE(self) -> None:
        self._answer(self._delete)

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log(f"lab API: {self.address_string()} {format % args}")

    def _answer(self, action: Callable[[list[str], dict], tuple[int, Any]]) -> None:
        self.server.guard.received(self.connection)
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/")]
        try:
            self._check_auth()
            status, body = action(parts, urllib.parse.parse_qs(url.query))
        except _Refusal as exc:
            status, body = exc.status, {"error": str(exc)}
        except OSError as exc:
            status, body = 503, {"error": f"the exchange folder is not usable: {exc.strerror or exc}"}
        content = body if isinstance(body, bytes) else (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if isinstance(body, bytes) else "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _check_auth(self) -> None:
        given = self.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.server.token}".encode()):
            raise _Refusal(401, "missing or wrong bearer token")

    def _folder(self, token: str) -> Path:
        if not is_token(token):
            raise _Refusal(400, f"{token!r} is not a request token")
        folder = self.server.exchange_dir / token
        if not (folder / REQUEST_FILE).is_file():
            raise _Refusal(404, f"no request {token}")
        return folder

    def _post(self, parts: list[str], query: dict) -> tuple[int, Any]:
        if parts != ["requests"]:
            raise _Refusal(404, "POST goes to /requests")
        token = self.headers.get("Idempotency-Key", "")
        if not is_token(token):
            raise _Refusal(400, "the Idempotency-Key header must carry the request token")
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise _Refusal(411, "Content-Length is required")
        if int(length) > MAX_BODY_BYTES:
            raise _Refusal(413, f"the body exceeds {MAX_BODY_BYTES} bytes")
        limits = self.server.guard.limits
        self.server.guard.expect(self.connection, f"a body of {length} bytes", limits.body_timeout, self._client())
        try:
            raw = self.rfile.read(int(length))
        except TimeoutError:
            raw = b""
        self.server.guard.received(self.connection)
        if len(raw) < int(length):
            raise _Refusal(408, f"the body did not arrive within {limits.body_timeout:g} s")
        body = _json_body(raw)
        request, files = body.get("request"), body.get("files") or {}
        if not isinstance(request, dict) or not isinstance(files, dict):
            raise _Refusal(400, "the body must be {\"request\": {...}, \"files\": {name: base64}}")
        if request.get("token", token) != token:
            raise _Refusal(400, "the request's token differs from its Idempotency-Key")
        try:
            contents = {name: base64.b64decode(data, validate=True) for name, data in files.items()}
            created = exchange.publish_request(self.server.exchange_dir, token, {**request, "token": token}, contents)
        except (TypeError, binascii.Error) as exc:
            raise _Refusal(400, f"a file is not base64: {exc}") from None
        except ValueError as exc:
            raise _Refusal(400, str(exc)) from None
        return (201 if created else 200), exchange.request_state(self.server.exchange_dir / token)

    def _get(self, parts: list[str], query: dict) -> tuple[int, Any]:
        if parts == ["requests"]:
            tokens = [t for t in query.get("token", []) if is_token(t)]
            folders = {t: self.server.exchange_dir / t for t in tokens}
            return 200, {"requests": {t: exchange.request_state(f) for t, f in folders.items()
                                      if (f / REQUEST_FILE).is_file()}}
        if len(parts) == 2 and parts[0] == "requests":
            return 200, exchange.request_state(self._folder(parts[1]))
        if len(parts) >= 4 and parts[0] == "requests" and parts[2] == "files":
            try:
                return 200, result_file(self._folder(parts[1]), "/".join(parts[3:])).read_bytes()
            except ValueError as exc:
                raise _Refusal(404, str(exc)) from None
        raise _Refusal(404, "unknown path")

    def _delete(self, parts: list[str], query: dict) -> tuple[int, Any]:
        if len(parts) != 2 or parts[0] != "requests":
            raise _Refusal(404, "DELETE goes to /requests/<token>")
        folder = self._folder(parts[1])
        exchange.cancel(folder, parts[1], by="the lab API (DELETE)")
        return 200, exchange.request_state(folder)


def _json_body(raw: bytes) -> dict:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise _Refusal(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise _Refusal(400, "the body must be a JSON object")
    return body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = MAX_CONNECTIONS

    def __init__(self, port: int, exchange_dir: Path, token: str, log: Callable[[str], None], limits: ConnectionLimits):
        self.guard = ConnectionGuard(limits, log)
        super().__init__((HOST, port), _Handler)
        self.exchange_dir = exchange_dir
        self.token = token
        self.log = log

    def process_request(self, request, client_address) -> None:
        if not self.guard.take_slot():
            self.guard.refuse(request, f"{client_address[0]}:{client_address[1]}")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.guard.give_slot()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.guard.received(request)
            self.guard.give_slot()

    def handle_error(self, request, client_address) -> None:
        """A client gone mid-answer (disconnected by a timeout, or it hung up) is one line;
        anything else keeps its traceback."""
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handle_error(request, client_address)
            return
        self.log(f"lab API: {client_address[0]}:{client_address[1]}: connection ended: {error!r}")


class LabApiServer:
    """The lab API over ``exchange_dir`` on ``127.0.0.1:port`` (0: any free port), within
    ``limits`` (default: :class:`ConnectionLimits`'s)."""

    def __init__(self, exchange_dir: Path, token: str, port: int = 0, log: Callable[[str], None] = print,
                 limits: ConnectionLimits | None = None):
        if not token:
            raise ValueError("the lab API needs a token")
        self._server = _Server(port, exchange_dir, token, log, limits or ConnectionLimits())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="lab-api", daemon=True)

    @property
    def url(self) -> str:
        """Where clients reach the API: ``http://127.0.0.1:<port>``."""
        return f"http://{HOST}:{self._server.server_address[1]}"

    def start(self) -> "LabApiServer":
        """Serve in a background thread; returns the server."""
        self._server.guard.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server.guard.stop()

    def __enter__(self) -> "LabApiServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
