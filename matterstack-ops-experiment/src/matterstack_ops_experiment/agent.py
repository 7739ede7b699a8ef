"""The lab-side agent: watches an exchange folder and answers requests with a driver.

A driver is the lab's function ``driver(request: dict, workdir: Path) -> dict`` returning
``{"data": {...}, "files": ["names relative to workdir"]}``; ``workdir`` is the request's
folder (its input files are there; outputs go there). The agent finds every
``experiment_request.json`` under the folder (recursively: one sub-folder per token, or the
attempt directories of whole runs), claims it, runs the driver and writes the answer
atomically. A driver that raises fails that request with its message; the agent goes on.

Exactly once: a request is claimed (``.experiment_claim``, created atomically) before the
driver runs, and a claimed request is never run again, by this agent, another agent or a
restarted one. A claim whose agent died (same host, process gone) is answered FAILED
("interrupted") rather than measured twice; rerunning the task sends a fresh request.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from matterstack.plugins import ConfigError, utc_now

from matterstack_ops_experiment import exchange
from matterstack_ops_experiment.protocol import (
    CANCEL_FILE,
    COMPLETED,
    FAILED,
    REQUEST_FILE,
    RESULT_FILE,
    RUNNING,
    read_json,
    result_file,
    write_json_atomic,
)

Driver = Callable[[dict, Path], dict]
DRIVER_KEYS = frozenset({"data", "files"})


def load_driver(spec: str) -> Driver:
    """The function named ``module:function`` (the current folder is importable too)."""
    module_name, _, function_name = spec.partition(":")
    fix = "name it as module:function, e.g. xrd_driver:run, with the module on PYTHONPATH"
    if not module_name or not function_name:
        raise ConfigError(f"driver {spec!r} is not module:function", where="--driver", fix=fix)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the lab's module: any import failure is reported the same way
        raise ConfigError(f"cannot import {module_name}: {type(exc).__name__}: {exc}", where="--driver", fix=fix) from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ConfigError(f"{module_name} has no function {function_name}", where="--driver", fix=fix)
    return function


def checked_answer(answer: Any, workdir: Path) -> tuple[dict, list[str]]:
    """The ``data`` and ``files`` of a driver's answer; ``ValueError`` saying what is wrong."""
    if not isinstance(answer, dict):
        raise ValueError(f"the driver returned {type(answer).__name__}, expected a dict with 'data' and 'files'")
    unknown = sorted(set(answer) - DRIVER_KEYS, key=str)
    if unknown:
        raise ValueError(f"the driver returned unknown key(s) {', '.join(map(repr, unknown))}; expected 'data', 'files'")
    data = answer.get("data") or {}
    files = answer.get("files") or []
    if not isinstance(data, dict):
        raise ValueError(f"the driver's 'data' must be a dict, found {type(data).__name__}")
    try:
        data = json.loads(json.dumps(data, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the driver's 'data' is not JSON: {exc}") from None
    if not isinstance(files, (list, tuple)):
        raise ValueError(f"the driver's 'files' must be a list of names, found {type(files).__name__}")
    for name in files:
        result_file(workdir, name)
    return data, list(dict.fromkeys(files))


_IN_PROGRESS: set[tuple[int, Path]] = set()
"""(agent id, request folder) of every request an agent of this process is claiming or running."""


def _claim_is_dead(claim: dict, folder: Path, host: str) -> bool:
    """Whether ``claim`` was made by an agent of this host that is gone (its process ended,
    or it was this process's and nobody here runs the request any more)."""
    pid = claim.get("pid")
    if claim.get("host") != host or not isinstance(pid, int) or pid <= 0:
        return False  # another host, or cannot tell: leave it to its owner
    if pid == os.getpid():
        return not any(busy == folder for _, busy in list(_IN_PROGRESS))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Agent:
    """Serves the requests under ``exchange_dir`` with ``driver``; ``log`` gets one line per event."""

    def __init__(self, exchange_dir: Path, driver: Driver, log: Callable[[str], None] = print):
        self.exchange_dir = exchange_dir
        self.driver = driver
        self.log = log
        self.host = socket.gethostname()
        self._finished: set[Path] = set()

    def serve_pass(self) -> int:
        """Look at every request once; return how many were answered. A folder the agent
        cannot write to is reported and skipped."""
        answered = 0
        for folder in self._requests():
            try:
                answered += self._serve(folder)
            except OSError as exc:
                self.log(f"{self._name(folder)}: cannot serve this request: {exc}")
        return answered

    def _requests(self) -> Iterator[Path]:
        for dirpath, dirnames, filenames in os.walk(self.exchange_dir):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            folder = Path(dirpath)
            if REQUEST_FILE in filenames and folder not in self._finished:
                yield folder

    def _serve(self, folder: Path) -> bool:
        result = read_json(folder / RESULT_FILE)
        if isinstance(result, dict) and result.get("status") in (COMPLETED, FAILED):
            self._finished.add(folder)
            return False
        claim = exchange.read_claim(folder)
        if claim is None:
            if result is not None or (folder / CANCEL_FILE).exists():
                return False  # answered by hand, or withdrawn before anyone started
            mark = (id(self), folder)
            _IN_PROGRESS.add(mark)  # before claiming, so no agent here takes the claim for dead
            try:
                return exchange.claim(folder) and self._run(folder)
            finally:
                _IN_PROGRESS.discard(mark)
        if claim and _claim_is_dead(claim, folder, self.host) and not self._answered(folder):
            self._finish(folder, read_json(folder / REQUEST_FILE), FAILED, error=(
                f"interrupted: the lab agent (pid {claim.get('pid')}) stopped while the driver ran "
                f"(claimed at {claim.get('claimed_at')}); not run again, so nothing is measured twice; "
                f"rerun the task to send a new request"))
            return True
        return False

    def _answered(self, folder: Path) -> bool:
        """Whether a final answer is on disk now. Read again just before taking a claim for
        dead: the claim's agent may have finished after this pass first looked."""
        result = read_json(folder / RESULT_FILE)
        return isinstance(result, dict) and result.get("status") in (COMPLETED, FAILED)

    def _run(self, folder: Path) -> bool:
        request = read_json(folder / REQUEST_FILE)
        if not isinstance(request, dict):
            self._finish(folder, None, FAILED, error=f"{REQUEST_FILE} is not a JSON object")
            return True
        self._write(folder, request, RUNNING, {"started_at": utc_now().isoformat()})
        self.log(f"{self._name(folder)}: running the driver")
        try:
            answer = self.driver(request, folder)
        except (Exception, SystemExit) as exc:  # the lab's code: any failure fails this request only
            self.log("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
            self._finish(folder, request, FAILED, error=f"the driver raised {type(exc).__name__}: {exc}")
            return True
        try:
            data, files = checked_answer(answer, folder)
        except ValueError as exc:
            self._finish(folder, request, FAILED, error=str(exc))
            return True
        self._finish(folder, request, COMPLETED, data=data, files=files)
        return True

    def _finish(self, folder: Path, request: Any, status: str, *, data: dict | None = None,
                files: list[str] | None = None, error: str | None = None) -> None:
        extra = {"data": data or {}, "files": files or [], "error": error,
                 "finished_at": utc_now().isoformat()}
        self._write(folder, request, status, extra)
        self._finished.add(folder)
        self.log(f"{self._name(folder)}: {status}" + (f" ({error})" if error else f" ({len(files or [])} file(s))"))

    def _write(self, folder: Path, request: Any, status: str, extra: dict) -> None:
        token = request.get("token") if isinstance(request, dict) else None
        answer = {"status": status, "data": {}, "files": [], "error": None, **extra, "token": token,
                  "agent": f"{self.host}:{os.getpid()}"}
        write_json_atomic(folder / RESULT_FILE, answer)

    def _name(self, folder: Path) -> str:
        try:
            return folder.relative_to(self.exchange_dir).as_posix()
        except ValueError:
            return str(folder)


def serve(agent: Agent, *, once: bool = False, poll_interval: float = 1.0, stop_after: float | None = None) -> int:
    """Answer requests until stopped (``once``: one pass; ``stop_after``: that many seconds);
    return how many were answered."""
    deadline = None if stop_after is None else time.monotonic() + stop_after
    answered = 0
    while True:
        answered += agent.serve_pass()
        if once:
            return answered
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return answered
        time.sleep(poll_interval if left is None else min(poll_interval, left))
