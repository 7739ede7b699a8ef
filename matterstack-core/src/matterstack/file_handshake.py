"""Waiting inside a job for an answer written to a file, as MatterStack 0.2.x's job wrappers did.

An ``ExternalTask`` run as a command (``python3 -m matterstack.core.external '<json>'``)
writes its request, then waits for the response file; a 0.2.x ``GateTask`` command
(``python3 -m matterstack.core.gate '<json>'``) writes its instructions, then waits for an
approval or a rejection file. Both wait at most ``timeout_minutes`` (60 when not given),
looking every ``poll_interval`` seconds, and end with an exit code: 0 answered yes, 1
answered no or no answer in time, 2 the command itself is wrong (bad JSON, a missing key).
Every outcome is one line on stderr.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from matterstack.atomic_write import write_atomic
from matterstack.errors import ConfigError

DEFAULT_TIMEOUT_MINUTES = 60
EXIT_ANSWERED, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class HandshakeFailed(Exception):
    """The other side said no, sent something unreadable, or did not answer in time."""


def _number(config: Mapping[str, Any], key: str, default: float, what: str) -> float:
    value = config.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{key} must be a number of {what} (0 or more), got {value!r}", where=f"config {key}",
                          fix=f"give {key} as a number, or leave it out")
    return float(value)


def _path(config: Mapping[str, Any], key: str, default: str | None = None) -> Path:
    value = config.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key} is missing" if value is None else f"{key} must be a file name, got {value!r}",
                          where=f"config {key}", fix=f'give "{key}": "<file name>" in the JSON')
    return Path(value)


def _wait(found: Callable[[], Any], poll_interval: float, timeout_minutes: float, waiting_for: str) -> Any:
    """Call ``found`` every ``poll_interval`` seconds until it returns something other than
    None; HandshakeFailed after ``timeout_minutes``."""
    deadline = time.monotonic() + timeout_minutes * 60
    while True:
        answer = found()
        if answer is not None:
            return answer
        if time.monotonic() >= deadline:
            raise HandshakeFailed(f"no answer after {timeout_minutes:g} minute(s) waiting for {waiting_for}")
        time.sleep(min(poll_interval, max(deadline - time.monotonic(), 0.0)))


class ExternalTaskWrapper:
    """Writes ``request_data`` to ``request_path``, then waits for ``response_path``.

    The response is a JSON object; ``"status": "failed"`` (any case) is a refusal, with
    ``"reason"`` saying why; anything else is success. A response that is not valid JSON is
    read again once at the next poll (it may have been caught half-written).
    """

    def __init__(self, config: Mapping[str, Any]):
        self.request_path = _path(config, "request_path")
        self.response_path = _path(config, "response_path")
        self.request_data = config.get("request_data") or {}
        self.poll_interval = _number(config, "poll_interval", 5.0, "seconds")
        self.timeout_minutes = _number(config, "timeout_minutes", DEFAULT_TIMEOUT_MINUTES, "minutes")

    def wait(self) -> dict[str, Any]:
        """Write the request and return the response; HandshakeFailed if it says failed,
        cannot be read, or does not come in time."""
        write_atomic(self.request_path, json.dumps(self.request_data, indent=2))
        _say(f"request written to {self.request_path.absolute()}; waiting for {self.response_path.absolute()} "
             f"(at most {self.timeout_minutes:g} min, every {self.poll_interval:g} s)")
        unreadable: list[str] = []
        response = _wait(lambda: self._read(unreadable), self.poll_interval, self.timeout_minutes,
                         str(self.response_path))
        if str(response.get("status", "success")).lower() == "failed":
            raise HandshakeFailed(f"{self.response_path} says failed: {response.get('reason', 'no reason given')}")
        return response

    def _read(self, unreadable: list[str]) -> dict[str, Any] | None:
        try:
            text = self.response_path.read_text()
        except FileNotFoundError:
            return None
        try:
            response = json.loads(text)
        except json.JSONDecodeError as exc:
            if unreadable:
                raise HandshakeFailed(f"{self.response_path} is not valid JSON ({exc})") from None
            unreadable.append(str(exc))
            return None
        if not isinstance(response, dict):
            raise HandshakeFailed(f"{self.response_path} must hold a JSON object, not {type(response).__name__}")
        return response

    def run(self) -> None:
        """As 0.2.x: return when answered; on a refusal or a timeout, say why and exit 1."""
        try:
            self.wait()
        except HandshakeFailed as exc:
            _fail(str(exc))
        _say(f"response received from {self.response_path}")


class GateTaskWrapper:
    """Writes ``info_file`` (the message and what to do), then waits for ``approve_file``
    (passes) or ``reject_file`` (fails), as a 0.2.x ``GateTask`` command did."""

    def __init__(self, config: Mapping[str, Any]):
        self.message = config.get("message") or ""
        self.approve_path = _path(config, "approve_file", "approved.txt")
        self.reject_path = _path(config, "reject_file", "rejected.txt")
        self.info_path = _path(config, "info_file", "gate_info.json")
        self.poll_interval = _number(config, "poll_interval", 2.0, "seconds")
        self.timeout_minutes = _number(config, "timeout_minutes", DEFAULT_TIMEOUT_MINUTES, "minutes")

    def wait(self) -> None:
        """Return once approved; HandshakeFailed if rejected or undecided in time."""
        info = {"message": self.message,
                "instructions": f"Create '{self.approve_path.name}' to approve, or '{self.reject_path.name}' to reject."}
        write_atomic(self.info_path, json.dumps(info, indent=2))
        _say(f"waiting for {self.approve_path} (approve) or {self.reject_path} (reject), "
             f"at most {self.timeout_minutes:g} min")
        decision = _wait(self._decision, self.poll_interval, self.timeout_minutes,
                         f"{self.approve_path} or {self.reject_path}")
        if decision == "rejected":
            raise HandshakeFailed(f"rejected: {self.reject_path} exists")

    def _decision(self) -> str | None:
        if self.approve_path.exists():
            return "approved"
        if self.reject_path.exists():
            return "rejected"
        return None

    def run(self) -> None:
        """As 0.2.x: return when approved; when rejected or undecided in time, say why and exit 1."""
        try:
            self.wait()
        except HandshakeFailed as exc:
            _fail(str(exc))
        _say(f"approved: {self.approve_path} exists")


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _fail(text: str) -> None:
    _say(f"Error: {text}")
    raise SystemExit(EXIT_REFUSED)


def command_main(module: str, wrapper: type, argv: list[str]) -> int:
    """``python -m <module> '<json>'``: the exit code of running ``wrapper`` on that JSON."""
    if len(argv) != 1:
        _say(f"Error: expected one argument, the JSON settings; usage: python -m {module} '<json>'")
        return EXIT_USAGE
    try:
        config = json.loads(argv[0])
    except json.JSONDecodeError as exc:
        _say(f"Error: the argument is not valid JSON ({exc}); fix: quote the settings as one JSON object")
        return EXIT_USAGE
    if not isinstance(config, dict):
        _say(f"Error: the argument must be a JSON object, not {type(config).__name__}")
        return EXIT_USAGE
    try:
        handshake = wrapper(config)
    except ConfigError as exc:
        _say(f"Error: {exc.one_line()}")
        return EXIT_USAGE
    try:
        handshake.run()
    except SystemExit as exit:
        return int(exit.code or 0)
    except OSError as exc:
        _say(f"Error: {exc.strerror or exc}: {exc.filename}; fix: run the command in a folder it may write to")
        return EXIT_REFUSED
    except KeyboardInterrupt:
        _say("Error: interrupted while waiting")
        return EXIT_REFUSED
    return EXIT_ANSWERED
