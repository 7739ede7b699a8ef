"""The request/result protocol between MatterStack and a lab, independent of transport.

MatterStack writes ``experiment_request.json``; the lab answers with
``experiment_result.json``: ``{"status": "COMPLETED"|"FAILED"|"RUNNING", "data": {...},
"files": ["names relative to the result's folder"], "error": "..."}``. Reading a result
never raises: anything that is not a valid answer becomes a FAILED :class:`Reading` whose
``problem`` says why, so a lab's bad file fails that one attempt with a message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs

from matterstack.plugins import ANSWER_FILE_LIMIT, PermanentOperatorError, inside, read_within_limit
from matterstack.plugins import write_atomic as write_bytes_atomic

REQUEST_FILE = "experiment_request.json"
RESULT_FILE = "experiment_result.json"
CANCEL_FILE = "experiment_cancel.json"
CLAIM_FILE = ".experiment_claim"
MANIFEST_FILE = "manifest.json"
CONFIG_ENV = "EXPERIMENT_CONFIG"
CONTROL_NAMES = frozenset({REQUEST_FILE, RESULT_FILE, CANCEL_FILE, CLAIM_FILE, MANIFEST_FILE, "config_snapshot"})
"""Names a task file or a result file may not take: they belong to the protocol."""

COMPLETED, FAILED, RUNNING = "COMPLETED", "FAILED", "RUNNING"
RESULT_STATUSES = (COMPLETED, FAILED, RUNNING)
_SHOWN_CHARS = 60


def build_request(attempt) -> dict[str, Any]:
    """The request document of an attempt (an ``AttemptContext``).

    The first keys are those MatterStack 0.2.x wrote (``task_id``, ``parameters``,
    ``files``, ``config``, ``config_raw``: the text of an ``EXPERIMENT_CONFIG`` that is not
    JSON); then the attempt token, the run, the operator key, and an ``ExternalTask``'s
    ``request_data``.
    """
    task = attempt.task
    config: Any = {}
    config_raw = None
    if CONFIG_ENV in task.env:
        try:
            config = json.loads(task.env[CONFIG_ENV])
        except ValueError:
            config_raw = task.env[CONFIG_ENV]
    request = {
        "task_id": task.task_id,
        "parameters": dict(task.env),
        "files": sorted(task.files),
        "config": config,
        "config_raw": config_raw,
        "token": attempt.attempt_id,
        "run_id": attempt.run_id,
        "operator_key": attempt.operator_key,
    }
    request_data = getattr(task, "request_data", None)
    if request_data is not None:
        request["request_data"] = request_data
    return request


@attrs.frozen
class Reading:
    """A lab's answer as read: valid (``problem`` is None) or a FAILED stand-in saying why not."""

    status: str
    data: dict = attrs.field(factory=dict)
    files: tuple[str, ...] = ()
    error: str | None = None
    problem: str | None = None

    @property
    def valid(self) -> bool:
        """Whether the lab's answer followed the protocol."""
        return self.problem is None

    @property
    def finished(self) -> bool:
        """Whether the answer is final (COMPLETED or FAILED, valid or not)."""
        return self.status != RUNNING

    @property
    def reason(self) -> str:
        """The reason an attempt records for this answer."""
        if self.problem is not None:
            reason = f"invalid {RESULT_FILE}: {self.problem}"
            return reason + (f" (the lab's error: {self.error})" if self.error else "")
        if self.status == FAILED:
            return f"the lab reported FAILED: {self.error or 'no error message given'}"
        if self.status == RUNNING:
            return "the lab reports RUNNING"
        return f"the lab reported COMPLETED with {len(self.files)} file(s)"

    def with_problem(self, problem: str) -> "Reading":
        """This answer, failed because of ``problem`` (a missing or unsafe file)."""
        return attrs.evolve(self, status=FAILED, problem=problem)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def invalid(problem: str) -> Reading:
    """The reading of an answer that could not be understood."""
    return Reading(status=FAILED, problem=problem)


def decode_json(raw: bytes | str) -> Any:
    """The JSON value in ``raw``; ``ValueError`` with a readable message if there is none."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise ValueError(f"not valid JSON ({exc})") from None


def parse_result(raw: Any) -> Reading:
    """Read a result from its bytes or text, or from an already decoded JSON value."""
    if isinstance(raw, (bytes, str)):
        try:
            raw = decode_json(raw)
        except ValueError as exc:
            return invalid(str(exc))
    if not isinstance(raw, dict):
        return invalid(f"expected a JSON object, found {_kind(raw)}")
    status = raw.get("status")
    if status not in RESULT_STATUSES:
        found = "it is missing" if "status" not in raw else f"found {_show(status)}"
        return invalid(f"'status' must be COMPLETED, FAILED or RUNNING ({found})")
    error = raw.get("error")
    if error is not None and not isinstance(error, str):
        return invalid(f"'error' must be a string, found {_kind(error)}")
    data = raw.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return Reading(FAILED, error=error, problem=f"'data' must be an object, found {_kind(data)}")
    files = raw.get("files")
    if files is None:
        files = []
    if not isinstance(files, list):
        return Reading(FAILED, error=error, problem=f"'files' must be a list of names, found {_kind(files)}")
    for name in files:
        problem = name_problem(name)
        if problem is not None:
            return Reading(FAILED, error=error, problem=f"file {_show(name)}: {problem}")
    return Reading(status=status, data=data, files=tuple(dict.fromkeys(files)), error=error)


def name_problem(name: Any) -> str | None:
    """Why ``name`` cannot name a file inside a request's folder, or None if it can.

    Names are relative POSIX paths without ``..``, ``.`` or empty parts, without hidden
    parts (temporary files of atomic writes) and not one of the protocol's own files.
    """
    if not isinstance(name, str):
        return f"a file name must be a string, found {_kind(name)}"
    if not name:
        return "empty file name"
    if "\x00" in name or "\\" in name:
        return "file names may not contain NUL or backslashes"
    if name.startswith("/") or (len(name) > 1 and name[0].isalpha() and name[1] == ":"):
        return "absolute paths are not allowed"
    parts = name.split("/")
    if ".." in parts:
        return "'..' is not allowed"
    if any(part in ("", ".") for part in parts):
        return "empty or '.' path parts are not allowed"
    if any(part.startswith(".") for part in parts):
        return "hidden names (starting with '.') are not allowed"
    if parts[0] in CONTROL_NAMES:
        return f"{parts[0]} belongs to the request protocol"
    return None


def result_file(folder: Path, name: str) -> Path:
    """The regular file ``name`` inside ``folder``, symlinks resolved; ``ValueError`` saying
    why when the name is unsafe, the file is missing, or a symlink leads out of ``folder``."""
    problem = name_problem(name)
    if problem is not None:
        raise ValueError(f"file {_show(name)}: {problem}")
    try:
        path = inside(folder, name)
        if not path.is_file():
            raise ValueError(f"file {_show(name)} is listed but missing from {folder}")
    except PermanentOperatorError:
        raise ValueError(f"file {_show(name)} leads outside the result's folder (a symlink?)") from None
    except (OSError, RuntimeError) as exc:  # an unreadable folder, a symlink loop
        raise ValueError(f"file {_show(name)} cannot be read: {exc}") from None
    return path


def check_files(reading: Reading, folder: Path) -> Reading:
    """``reading``, failed with the first listed file that is not a safe regular file in ``folder``."""
    for name in reading.files:
        try:
            result_file(folder, name)
        except ValueError as exc:
            return reading.with_problem(str(exc))
    return reading


def read_result(folder: Path) -> Reading | None:
    """The answer in ``folder/experiment_result.json`` with its files checked; None while
    there is none; :class:`~matterstack.plugins.InputLimitError` (the file is left unread)
    when it is over the limit for answer files."""
    path = folder / RESULT_FILE
    try:
        raw = read_within_limit(path, ANSWER_FILE_LIMIT)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return invalid(f"cannot read {path}: {exc.strerror or exc}")
    reading = parse_result(raw)
    return check_files(reading, folder) if reading.finished else reading


def read_json(path: Path) -> Any:
    """The JSON value in ``path``, or None when the file is absent or unreadable."""
    try:
        return decode_json(path.read_bytes())
    except (OSError, ValueError):
        return None


def write_json_atomic(path: Path, value: Any) -> None:
    """Write ``value`` as indented JSON, atomically."""
    write_bytes_atomic(path, (json.dumps(value, indent=2) + "\n").encode())


def copy_atomic(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically, making the target's folders."""
    target.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(target, source.read_bytes())


def is_token(text: Any) -> bool:
    """Whether ``text`` can be an attempt token and a folder name: letters, digits, ``._-``."""
    return (isinstance(text, str) and 0 < len(text) <= 128 and not text.startswith(".")
            and all(c.isascii() and (c.isalnum() or c in "._-") for c in text))
