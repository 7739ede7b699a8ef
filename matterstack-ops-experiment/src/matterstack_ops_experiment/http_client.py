"""The client of a lab's HTTP API, on the standard library alone (``urllib.request``).

Endpoints (see ``docs/experiment.md``): ``POST /requests`` with the attempt token as
``Idempotency-Key``; ``GET /requests?token=...`` (many at once) and ``GET /requests/<token>``;
``GET /requests/<token>/files/<name>``; ``DELETE /requests/<token>``.

The bearer token is read from the named environment variable at every call and is never
kept, logged or written anywhere. Connection trouble, timeouts, 5xx, 408, 429 and refused
credentials (401/403) are :class:`TransientOperatorError`: retried on a later tick, never a
failed attempt. Any other 4xx on submit is :class:`PermanentOperatorError`.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from matterstack.plugins import (
    ANSWER_FILE_LIMIT,
    InputLimitError,
    PermanentOperatorError,
    TransientOperatorError,
)

from matterstack_ops_experiment.protocol import decode_json, write_bytes_atomic

TIMEOUT_SECONDS = 10.0
TOKENS_PER_QUERY = 100
_RETRY_LATER = frozenset({401, 403, 408, 425, 429})
_BODY_CHARS = 200


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would carry the bearer token to another address: refuse to follow it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


class LabClient:
    """Talks to one lab API at ``base_url``; ``token_env`` names the variable with the token."""

    def __init__(self, base_url: str, token_env: str | None, timeout: float = TIMEOUT_SECONDS):
        self.base_url = base_url.rstrip("/")
        self.token_env = token_env
        self.timeout = timeout

    def endpoint(self, token: str) -> str:
        """The URL of one request."""
        return f"{self.base_url}/requests/{urllib.parse.quote(token, safe='')}"

    def submit(self, token: str, request: dict, files: dict[str, bytes]) -> bool:
        """POST the request with its input files; True if the lab created it, False if it
        already had this token."""
        body = {"request": request, "files": {name: base64.b64encode(data).decode() for name, data in files.items()}}
        status, _ = self._call("POST", "/requests", body, {"Idempotency-Key": token}, permanent_4xx=True)
        return status == 201

    def states(self, tokens: list[str]) -> dict[str, dict]:
        """The lab's view of many requests, by token; tokens the lab does not know are absent."""
        found: dict[str, dict] = {}
        for start in range(0, len(tokens), TOKENS_PER_QUERY):
            query = urllib.parse.urlencode([("token", t) for t in tokens[start:start + TOKENS_PER_QUERY]])
            _, answer = self._call("GET", f"/requests?{query}")
            requests = answer.get("requests") if isinstance(answer, dict) else None
            if not isinstance(requests, dict):
                raise TransientOperatorError(f"{self.base_url}: GET /requests answered without a 'requests' object",
                                             fix="check that base_url points at a MatterStack lab API")
            found.update({t: s for t, s in requests.items() if isinstance(s, dict)})
        return found

    def state(self, token: str) -> dict | None:
        """The lab's view of one request, or None if it does not know the token."""
        return self.states([token]).get(token)

    def download(self, token: str, name: str, dest: Path) -> bool:
        """Save a file of the request's answer to ``dest`` (atomically); False on 404."""
        path = f"/requests/{urllib.parse.quote(token, safe='')}/files/{urllib.parse.quote(name)}"
        status, content = self._call("GET", path, raw=True, missing_ok=True)
        if status == 404:
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(dest, content)
        return True

    def cancel(self, token: str) -> None:
        """Withdraw the request (a request the lab does not know is already gone)."""
        self._call("DELETE", f"/requests/{urllib.parse.quote(token, safe='')}", missing_ok=True)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token_env:
            secret = os.environ.get(self.token_env)
            if not secret:
                raise TransientOperatorError(
                    f"the environment variable {self.token_env} (the lab API token) is not set",
                    where=self.base_url, fix=f"export {self.token_env}=<token> where `matterstack step` runs")
            headers["Authorization"] = f"Bearer {secret}"
        return headers

    def _call(self, method: str, path: str, body: Any = None, extra: dict[str, str] | None = None, *,
              permanent_4xx: bool = False, raw: bool = False, missing_ok: bool = False) -> tuple[int, Any]:
        headers = {**self._headers(), **(extra or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        where = f"{self.base_url} ({method} {path.split('?')[0]})"
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                status, content = response.status, (response.read() if raw else _read_answer(response, where))
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                return 404, None
            detail = _detail(exc)
            exc.close()
            if permanent_4xx and 400 <= exc.code < 500 and exc.code not in _RETRY_LATER:
                raise PermanentOperatorError(f"the lab API refused the request: HTTP {exc.code}{detail}", where=where,
                                             fix="fix the request the task describes") from None
            raise TransientOperatorError(f"the lab API answered HTTP {exc.code}{detail}", where=where) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise TransientOperatorError(f"cannot reach the lab API: {reason}", where=where) from None
        if raw:
            return status, content
        try:
            return status, decode_json(content)
        except ValueError as exc:
            raise TransientOperatorError(f"the lab API answered something that is {exc}", where=where) from None


def _read_answer(response, where: str) -> bytes:
    """A JSON answer's body, within the limit for answer files (an answer over it would cost
    several times its size to parse): an outage with the fix otherwise, so nothing fails."""
    try:
        most = ANSWER_FILE_LIMIT.max_bytes()
    except InputLimitError as exc:
        raise TransientOperatorError(exc.what, where=exc.where, fix=exc.fix) from None
    declared = response.headers.get("Content-Length", "")
    size = int(declared) if declared.isdigit() else None
    content = b"" if size is not None and size > most else response.read(most + 1)
    if len(content) > most or size is not None and size > most:
        refusal = ANSWER_FILE_LIMIT.refusal(where, size if size is not None and size > most else None)
        raise TransientOperatorError(f"the lab API's answer {refusal.what}", where=where, fix=refusal.fix)
    return content


def _detail(error: urllib.error.HTTPError) -> str:
    """The lab's own words about an error (its JSON ``error``, else the start of the body)."""
    try:
        text = error.read(4096).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return ""
    try:
        message = json.loads(text).get("error")
    except (ValueError, AttributeError):
        message = None
    text = " ".join(str(message or text).split())[:_BODY_CHARS]
    return f": {text}" if text else ""
