"""The ``response.json`` protocol: what a person writes, and how it is read.

A response is one JSON object::

    {"status": "COMPLETED" | "FAILED" | "WAITING",   # upper case, required
     "data": {...},          # checked against the task's schema when status is COMPLETED
     "error": "why",         # shown as the reason of a FAILED attempt
     "message": "note",      # shown in the reason of a COMPLETED attempt
     "files": ["notes.txt"]} # files the person put in the attempt directory

Other top-level fields (``responded_by``, ``responded_at``) are kept but not checked.

A task gives the schema of ``data`` either as ``env["RESPONSE_SCHEMA"]`` (JSON text) or as
a task file named ``response_schema.json``; without one, ``data`` is any object. Reading
never raises for what a file holds: every input either parses into an :class:`Answer` or
becomes an invalid one (status FAILED) whose reason says what is wrong. A file over the limit
for answer files (``MATTERSTACK_MAX_ANSWER_MB``) is not read at all: :func:`read_answer`
raises :class:`~matterstack.plugins.InputLimitError`, and the attempt keeps waiting.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import attrs

from matterstack.plugins import ANSWER_FILE_LIMIT, PermanentOperatorError, inside, read_within_limit

from matterstack_ops_human.schema import schema_problems, show, validate

RESPONSE_FILE = "response.json"
SCHEMA_FILE = "schema.json"
RESPONSE_SCHEMA_ENV = "RESPONSE_SCHEMA"
RESPONSE_SCHEMA_FILE = "response_schema.json"
STATUSES = ("COMPLETED", "FAILED", "WAITING")
ANY_DATA: dict = {"type": "object"}
SHOWN_PROBLEMS = 5


@attrs.frozen
class Answer:
    """A response as read: ``status`` is COMPLETED, FAILED or WAITING; an invalid response
    is FAILED with ``valid`` false and the validation messages in ``reason``."""

    status: str
    reason: str
    data: dict = attrs.field(factory=dict)
    files: tuple[str, ...] = ()
    valid: bool = True


def envelope_schema(data_schema: dict | None = None) -> dict:
    """The schema of a whole response (what ``schema.json`` holds), with ``data_schema`` for ``data``."""
    return {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": list(STATUSES)},
            "data": data_schema or ANY_DATA,
            "error": {"type": "string"},
            "message": {"type": "string"},
            "files": {"type": "array", "items": {"type": "string"}},
        },
        "description": "data is checked against its schema when status is COMPLETED",
    }


def load_json(raw: bytes | str) -> tuple[Any, str | None]:
    """``(value, None)`` for strict JSON (no NaN or Infinity), else ``(None, why)``."""

    def finite(text: str) -> float:
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(f"number {text[:20]} is out of range")
        return number

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(raw, parse_float=finite, parse_constant=refuse), None
    except RecursionError:
        return None, "it is nested too deeply"
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, refused numbers
        return None, str(exc)


def data_schema_for(task: Any, attempt_dir: Path) -> dict:
    """The schema ``data`` must meet: ``env["RESPONSE_SCHEMA"]``, else the staged
    ``response_schema.json``, else any object. :class:`PermanentOperatorError` if it is not
    a schema of the supported subset."""
    where = f"task {task.task_id!r}"
    text = task.env.get(RESPONSE_SCHEMA_ENV)
    source = f"env[{RESPONSE_SCHEMA_ENV!r}]"
    if text is not None and RESPONSE_SCHEMA_FILE in task.files:
        raise PermanentOperatorError(
            f"the response schema is given twice ({source} and file {RESPONSE_SCHEMA_FILE})",
            where=where, fix="keep one of them")
    if text is None and RESPONSE_SCHEMA_FILE in task.files:
        source = f"file {RESPONSE_SCHEMA_FILE}"
        try:
            text = (attempt_dir / RESPONSE_SCHEMA_FILE).read_bytes()
        except OSError as exc:
            raise PermanentOperatorError(f"cannot read {source}: {exc.strerror or exc}", where=where,
                                         fix="rerun the task so its files are staged again") from None
    if text is None:
        return ANY_DATA
    schema, error = load_json(text)
    problems = [f"not JSON ({error})"] if error else schema_problems(schema, "schema")
    if not problems and schema.get("type", "object") != "object":
        problems = ["schema.type: the schema of data must describe an object"]
    if problems:
        raise PermanentOperatorError(f"invalid response schema in {source}: {'; '.join(problems)}", where=where,
                                     fix="write a JSON schema using type, required, properties, enum, items, "
                                         "minimum, maximum, additionalProperties")
    return {"type": "object", **schema}


def response_problems(document: Any, data_schema: dict) -> list[str]:
    """Every way ``document`` breaks the protocol; ``data`` is checked against ``data_schema``
    only when the status is COMPLETED (a rejection need not carry the approved fields)."""
    if not isinstance(document, dict):
        return [f"expected a JSON object, found {show(document)}"]
    status = document.get("status")
    problems = [] if status in STATUSES else [status_problem(document)]
    rest = envelope_schema(data_schema if status == "COMPLETED" else ANY_DATA)
    del rest["properties"]["status"]
    rest["required"] = []
    if status == "COMPLETED" and "data" not in document:
        problems += validate({}, data_schema, "data")
    return problems + validate(document, rest)


def status_problem(document: dict) -> str:
    """Why ``document["status"]`` is not one of the statuses."""
    allowed = ", ".join(STATUSES)
    if "status" not in document:
        return f"status: required field is missing (one of {allowed})"
    status = document["status"]
    if isinstance(status, str) and status.strip().upper() in STATUSES:
        return f"status: {show(status)} is not one of {allowed} (write it exactly, in upper case)"
    return f"status: {show(status)} is not one of {allowed}"


def file_problems(files: Any, attempt_dir: Path) -> list[str]:
    """Why the ``files`` a response lists are not files inside the attempt directory."""
    if not isinstance(files, list):
        return []  # the envelope schema reports the type
    problems = []
    for index, name in enumerate(files):
        if not isinstance(name, str):
            continue
        try:
            target = inside(attempt_dir, name)
        except (PermanentOperatorError, ValueError, OSError):
            problems.append(f"files[{index}]: {show(name)} is outside the attempt directory")
            continue
        if not target.is_file():
            problems.append(f"files[{index}]: {show(name)} is not a file in the attempt directory")
    return problems


def summarize(problems: list[str]) -> str:
    """The first few problems on one line, and how many more there are."""
    text = "; ".join(problems[:SHOWN_PROBLEMS])
    if len(problems) > SHOWN_PROBLEMS:
        text += f" (and {len(problems) - SHOWN_PROBLEMS} more)"
    return text


def parse_answer(raw: bytes | str, data_schema: dict, attempt_dir: Path | None = None) -> Answer:
    """Read one response; ``files`` are checked when ``attempt_dir`` is given. Never raises."""
    try:
        return _parse(raw, data_schema, attempt_dir)
    except RecursionError:
        return invalid(["it is nested too deeply"])


def invalid(problems: list[str]) -> Answer:
    """An invalid response: FAILED, with the problems as its reason."""
    return Answer("FAILED", f"invalid {RESPONSE_FILE}: {summarize(problems)}", valid=False)


def _parse(raw: bytes | str, data_schema: dict, attempt_dir: Path | None) -> Answer:
    document, error = load_json(raw)
    if error is not None:
        return invalid([f"not valid JSON ({error})"])
    problems = response_problems(document, data_schema)
    if attempt_dir is not None and not problems:
        problems = file_problems(document.get("files", []), attempt_dir)
    if problems:
        return invalid(problems)
    status = document["status"]
    data = document.get("data", {})
    files = tuple(document.get("files", ()))
    note = document.get("error") if status == "FAILED" else document.get("message")
    if status == "COMPLETED":
        reason = "the person answered COMPLETED" + (f": {note}" if note else "")
    elif status == "FAILED":
        reason = "the person answered FAILED: " + (note or "no reason given")
    else:
        reason = "the person answered WAITING" + (f": {note}" if note else "")
    return Answer(status, reason, data, files)


def read_answer(attempt_dir: Path, data_schema: dict) -> Answer | None:
    """The response in ``attempt_dir``, or ``None`` when there is none yet;
    :class:`~matterstack.plugins.InputLimitError` when it is over the limit for answer files."""
    try:
        raw = read_within_limit(attempt_dir / RESPONSE_FILE, ANSWER_FILE_LIMIT)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return invalid([f"cannot be read ({exc.strerror or exc})"])
    return parse_answer(raw, data_schema, attempt_dir)
