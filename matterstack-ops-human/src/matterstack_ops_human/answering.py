"""Answering a request from the command line: build ``response.json`` from flags, check it
against the task's schema, and only then write it (files first, then the response, each
through a temporary file and a rename), so a refused answer writes nothing.

Several people may answer one request at the same moment. Each answer is checked and written
holding a lock on ``.response.lock`` in the attempt directory, and a first answer is created
exclusively (a link of its temporary file, which fails if ``response.json`` appeared), so
exactly one answer wins; the others are refused naming who answered and when.

``--data key=value``: the value is read as a JSON literal when it is one (``3``, ``2.5``,
``true``, ``null``, ``["Pt", "Pd"]``, ``{"a": 1}``), otherwise kept as text (``Pt,Pd``).
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import getpass
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from matterstack.errors import ConfigError
from matterstack.plugins import utc_now

from matterstack_ops_human.handoff import HIDDEN_PREFIX, copy_atomic, write_json_atomic, write_json_exclusive
from matterstack_ops_human.human import CONTROL_FILES
from matterstack_ops_human.manual_hpc import OUTPUT_DIR, STATUS_FILE
from matterstack_ops_human.pending import MANUAL_HPC_KIND, NotWaitingError, Request
from matterstack_ops_human.response import (
    RESPONSE_FILE,
    data_schema_for,
    load_json,
    read_answer,
    response_problems,
    summarize,
)


def parse_data(items: list[str]) -> dict:
    """``--data key=value`` flags as a dict (JSON literal values, else text)."""
    data: dict = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--data {item!r} is not key=value", fix="e.g. --data keep=Pt,Pd")
        if key in data:
            raise ConfigError(f"--data {key} is given twice", fix="give each key once; a list is --data 'keep=[\"Pt\", \"Pd\"]'")
        value, error = load_json(text)
        data[key] = text if error is not None else value
    return data


def files_to_copy(paths: list[Path]) -> list[tuple[Path, str]]:
    """``--file`` paths and the names they get in the attempt directory (their base names)."""
    chosen: list[tuple[Path, str]] = []
    for path in paths:
        name = path.name
        if not path.is_file():
            raise ConfigError(f"--file {path}: no such file", fix="give the path of a file to attach")
        if name in CONTROL_FILES or name.startswith(HIDDEN_PREFIX):
            raise ConfigError(f"--file {path}: the name {name!r} is reserved", fix="rename the file")
        if name in {n for _, n in chosen}:
            raise ConfigError(f"--file: two files are named {name!r}", fix="rename one of them")
        chosen.append((path, name))
    return chosen


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def build_response(approve: bool, data: dict, message: str | None, names: list[str],
                   responded_by: str | None = None) -> dict:
    """The response document the flags (or the page's form) describe; ``responded_by`` is
    the login name when not given."""
    document: dict = {"status": "COMPLETED" if approve else "FAILED", "data": data}
    if message:
        document["message" if approve else "error"] = message
    if names:
        document["files"] = names
    document["responded_by"] = responded_by or _user()
    document["responded_at"] = utc_now().isoformat()
    return document


def _hint(request: Request, data: dict, schema: dict) -> str:
    fields = list(schema.get("properties", {}))
    guesses = []
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            if close:
                guesses.append(f"did you mean {close[0]!r} instead of {key!r}?")
    show = f"`matterstack human show {request.run_id} {request.task.task_id}` lists the fields"
    return "; ".join([*guesses, show])


class AnswerRefused(ConfigError):
    """An answer that breaks the request's schema; ``problems`` holds one message per field
    (``data.keep: required field is missing``), for a page to show next to each."""

    def __init__(self, what: str, *, problems: list[str], where: str | None = None, fix: str | None = None):
        self.problems = problems
        super().__init__(what, where=where, fix=fix)


LOCK_FILE = f"{HIDDEN_PREFIX}response.lock"
LOCK_WAIT_SECONDS = 60.0


@contextlib.contextmanager
def answering(attempt_dir: Path, where: str):
    """Hold the attempt's answer lock: one ``human respond`` checks and writes at a time."""
    fd = os.open(attempt_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ConfigError(f"another `human respond` has held {LOCK_FILE} for {LOCK_WAIT_SECONDS:.0f} s",
                                      where=where, fix="try again when it has finished") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def answered_by(target: Path) -> str:
    """``by <user> at <time>`` of the response in ``target`` (its modification time when it
    does not say, as a hand-written one may not)."""
    document, _ = load_json(target.read_bytes())
    document = document if isinstance(document, dict) else {}
    who = document.get("responded_by") or "someone (it names no responded_by)"
    when = document.get("responded_at")
    if not isinstance(when, str):
        when = datetime.fromtimestamp(target.stat().st_mtime, timezone.utc).isoformat()
    return f"by {who} at {when}"


def respond(request: Request, *, approve: bool, data_items: list[str], files: list[Path],
            message: str | None) -> Path:
    """Answer ``request`` from ``--data key=value`` flags; see :func:`answer`."""
    return answer(request, approve=approve, data=parse_data(data_items), files=files, message=message)


def answer(request: Request, *, approve: bool, data: dict, files: list[Path], message: str | None,
           responded_by: str | None = None) -> Path:
    """Answer ``request`` with ``data``; return the path of the response written. Raises
    :class:`NotWaitingError` when the request does not wait for an answer (or another answer
    won) and :class:`AnswerRefused` when the answer breaks the schema; nothing is written then."""
    where = f"run {request.run_id} task {request.task.task_id}"
    if request.kind == MANUAL_HPC_KIND:
        raise NotWaitingError(
            f"task {request.task.task_id} is a job bundle on {request.operator_key}: its answer is the job's results,"
            f" not a response", where=where,
            fix=f"copy {OUTPUT_DIR}/ and then {STATUS_FILE} into {request.attempt_dir}"
                f" (`matterstack human show {request.run_id} {request.task.task_id}` says how)")
    refusal = request.refusal()
    if refusal:
        raise NotWaitingError(refusal, where=where, fix="`matterstack human list` shows what waits for an answer")
    schema = data_schema_for(request.task, request.attempt_dir)
    target = request.attempt_dir / RESPONSE_FILE
    with answering(request.attempt_dir, where):
        existing = read_answer(request.attempt_dir, schema)
        if existing is not None and existing.valid and existing.status != "WAITING":
            raise NotWaitingError(f"already answered {answered_by(target)}: {target} says {existing.status};"
                                  f" the next tick reads it", where=where, fix=f"delete {target} to answer again")
        chosen = files_to_copy(files)
        document = build_response(approve, data, message, [name for _, name in chosen], responded_by)
        problems = response_problems(document, schema)
        if problems:
            raise AnswerRefused(f"answer refused, nothing written: {summarize(problems)}", problems=problems,
                                where=where, fix=_hint(request, data, schema))
        for source, name in chosen:
            copy_atomic(source, request.attempt_dir / name)
        if existing is None:
            if not write_json_exclusive(target, document):
                raise NotWaitingError(f"already answered {answered_by(target)} while this answer was written:"
                                      f" {target} is theirs", where=where, fix=f"delete {target} to answer again")
        else:
            write_json_atomic(target, document)
    return target
