"""SQLite rows ⇄ records: the column encoding under :mod:`matterstack.core.convert`.

``convert`` turns model objects into plain JSON-able dicts keyed by column name and reads
rows back (JSON text, 0/1 booleans, 0.2.x naive times included). This module only applies
the database's encoding on the way in: a JSON column holds one ``json.dumps`` document (the
text ``null`` for "nothing", never SQL NULL, as 0.2.x wrote them) and booleans are 0/1.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import attrs

from matterstack.core.encoding import file_from_record, file_to_record
from matterstack.core.records import Attempt, AttemptEvent, Run
from matterstack.core.status import AttemptStatus, RunStatus
from matterstack.core.times import datetime_from_text
from matterstack.core.workflow import Task
from matterstack.store.schema import (
    ATTEMPT_COLUMNS,
    BOOLEAN_COLUMNS,
    EVENT_COLUMNS,
    JSON_COLUMNS,
    RUN_COLUMNS,
    TASK_COLUMNS,
)


def _convert():
    """The cattrs-backed converters, imported on first use: the fast paths below decode a
    tick's rows without them, so a tick that writes nothing never builds the converter."""
    from matterstack.core import convert

    return convert


_EMPTY_JSON = {type(None): "null", dict: "{}", list: "[]"}
"""What ``json.dumps`` makes of the values most JSON columns hold (a task with no files, env,
dependencies or download patterns): 5 µs each through the encoder, paid four times per task
of a plan."""


def _json_text(value: Any) -> str:
    if not value:
        text = _EMPTY_JSON.get(type(value))
        if text is not None:
            return text
    return json.dumps(value)


def _encoder(columns: tuple[str, ...]) -> Callable[[Mapping[str, Any]], list[Any]]:
    """A function from a record to its encoded column values, in ``columns`` order.

    Built once per table because it runs once per row on the hot write paths.
    """
    pick = operator.itemgetter(*columns)
    json_positions = [i for i, column in enumerate(columns) if column in JSON_COLUMNS]
    bool_positions = [i for i, column in enumerate(columns) if column in BOOLEAN_COLUMNS]

    def encode(record: Mapping[str, Any]) -> list[Any]:
        values = list(pick(record))
        for i in json_positions:
            values[i] = _json_text(values[i])
        for i in bool_positions:
            values[i] = int(values[i])
        return values

    return encode


_encode_task = _encoder(TASK_COLUMNS)
_encode_attempt = _encoder(ATTEMPT_COLUMNS)
_encode_run = _encoder(RUN_COLUMNS)
_encode_event = _encoder(EVENT_COLUMNS)


def task_values(task: Task) -> list[Any]:
    """The :data:`TASK_COLUMNS` values of a task, encoded."""
    if type(task) is Task:
        return _plain_task_values(task)
    return _encode_task(_convert().task_to_record(task))


def _plain_task_values(task: Task) -> list[Any]:
    # What the converter gives a plain task, without it: a plan may hand over 100,000 tasks,
    # and cattrs' unstructuring cost 15 µs of each one's 20 (tests/core/test_row_decoding.py
    # compares the two).
    return [
        task.task_id, task.image, task.command,
        _json_text({name: file_to_record(value) for name, value in task.files.items()}),
        _json_text(task.env), _json_text(sorted(task.dependencies)),
        task.cores, task.memory_gb, task.gpus, task.time_limit_minutes,
        int(task.allow_dependency_failure), int(task.allow_failure),
        _json_text(task.download_patterns), Task.task_type, task.operator_key,
    ]


assert TASK_COLUMNS == (
    "task_id", "image", "command", "files", "env", "dependencies", "cores", "memory_gb", "gpus",
    "time_limit_minutes", "allow_dependency_failure", "allow_failure", "download_patterns", "task_type",
    "operator_key",
), "_plain_task_values writes the task columns in this order"


def task_from_row(row: Mapping[str, Any]) -> Task:
    """A task from a ``tasks`` row (any schema version, columns by name)."""
    return _convert().task_from_record(dict(row))


def attempt_values(attempt: Attempt) -> list[Any]:
    """The :data:`ATTEMPT_COLUMNS` values of an attempt, encoded."""
    return _encode_attempt(_convert().attempt_to_record(attempt))


def attempt_from_row(row: Mapping[str, Any]) -> Attempt:
    """An attempt from a ``task_attempts`` row."""
    return _convert().attempt_from_record(dict(row))


# The tick reads every active attempt and its task on each pass, so rows in the store's own
# encoding are decoded directly; anything else (0.2.x text, unexpected types, task types
# with their own reading rules) goes through the converter, which says what is wrong.
_ATTEMPT_STATUSES = {status.value: status for status in AttemptStatus}
_RUN_STATUSES = {status.value: status for status in RunStatus}
_UTC = timezone.utc
assert tuple(field.name for field in attrs.fields(Attempt)) == ATTEMPT_COLUMNS


def _time(text: Any) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is _UTC else datetime_from_text(text)


def _all_text(values: Any) -> bool:
    return all(type(value) is str for value in values)


_TEXT_OR_NONE = frozenset((str, type(None)))


def attempt_from_values(values: Sequence[Any]) -> Attempt:
    """An attempt from its :data:`ATTEMPT_COLUMNS` values, in that order."""
    (attempt_id, task_id, run_id, index, status, key, operator_type, external_id,
     data, relative_path, created_at, submitted_at, ended_at, reason) = values
    # Spelt out, not with _all_text: a tick of a new process decodes every active attempt.
    try:
        data = {} if data == "{}" else json.loads(data) if type(data) is str else None
        if (
            type(data) is dict and type(index) is int and status in _ATTEMPT_STATUSES
            and type(attempt_id) is str and type(task_id) is str and type(run_id) is str
            and {type(key), type(operator_type), type(external_id), type(relative_path), type(reason),
                 type(created_at), type(submitted_at), type(ended_at)} <= _TEXT_OR_NONE
        ):
            return Attempt(attempt_id, task_id, run_id, index, _ATTEMPT_STATUSES[status], key,
                           operator_type, external_id, data, relative_path, _time(created_at),
                           _time(submitted_at), _time(ended_at), reason)
    except ValueError:
        pass
    return _convert().attempt_from_record(dict(zip(ATTEMPT_COLUMNS, values)))


def _optional_count(value: Any) -> bool:
    return value is None or type(value) is int


def task_from_values(values: Sequence[Any]) -> Task:
    """A task from its :data:`TASK_COLUMNS` values, in that order."""
    (task_id, image, command, files, env, dependencies, cores, memory_gb, gpus, minutes,
     allow_dependency_failure, allow_failure, patterns, task_type, key) = values
    try:
        if task_type == Task.task_type and _all_text((task_id, image, command, files, env, dependencies, patterns)):
            files, env, dependencies, patterns = (json.loads(files), json.loads(env),
                                                  json.loads(dependencies), json.loads(patterns))
            if (
                type(files) is dict and type(env) is dict and _all_text(env.values())
                and type(dependencies) is list and _all_text(dependencies)
                and (patterns is None or (type(patterns) is dict
                                          and all(type(g) is list and _all_text(g) for g in patterns.values())))
                and all(_optional_count(v) for v in (cores, memory_gb, gpus, minutes))
                and allow_dependency_failure in (0, 1) and allow_failure in (0, 1)
                and (key is None or type(key) is str)
            ):
                return Task(
                    task_id=task_id, image=image, command=command,
                    files={name: file_from_record(value, task_id=task_id, name=name) for name, value in files.items()},
                    env=env, dependencies=set(dependencies), cores=cores, memory_gb=memory_gb, gpus=gpus,
                    time_limit_minutes=minutes, allow_failure=bool(allow_failure),
                    allow_dependency_failure=bool(allow_dependency_failure), download_patterns=patterns,
                    operator_key=key,
                )
    except ValueError:
        pass
    return _convert().task_from_record(dict(zip(TASK_COLUMNS, values)))


_new = object.__new__
_set = object.__setattr__


def task_copy(task: Task) -> Task:
    """An independent copy of a plain task the constructor already validated (new mutable
    containers), made without validating it again: it runs once per active attempt per tick."""
    copy = _new(Task)
    _set(copy, "task_id", task.task_id)
    _set(copy, "image", task.image)
    _set(copy, "command", task.command)
    _set(copy, "files", dict(task.files))
    _set(copy, "env", dict(task.env))
    _set(copy, "dependencies", set(task.dependencies))
    _set(copy, "cores", task.cores)
    _set(copy, "memory_gb", task.memory_gb)
    _set(copy, "gpus", task.gpus)
    _set(copy, "time_limit_minutes", task.time_limit_minutes)
    _set(copy, "allow_failure", task.allow_failure)
    _set(copy, "allow_dependency_failure", task.allow_dependency_failure)
    patterns = task.download_patterns
    _set(copy, "download_patterns", None if patterns is None else {kind: list(globs) for kind, globs in patterns.items()})
    _set(copy, "operator_key", task.operator_key)
    return copy


# task_copy sets every field; a field added to Task must be added there too.
assert {field.name for field in attrs.fields(Task)} == {
    "task_id", "image", "command", "files", "env", "dependencies", "cores", "memory_gb", "gpus",
    "time_limit_minutes", "allow_failure", "allow_dependency_failure", "download_patterns", "operator_key",
}


class DecodedRecords:
    """What an open store has decoded already, so that a process ticking one run again and
    again pays for SQL, not for decoding the same rows each time.

    Task definitions change only by a rerun with new resources (which makes the task ready
    again, and the store then forgets it): they are kept by task id and handed out as
    copies. Attempts change, so they are kept by their exact row values (decoding is a pure
    function of them); they are frozen and shared. Each part holds at most ``limit``
    entries and starts afresh when full.
    """

    def __init__(self, limit: int = 50_000):
        self.limit = limit
        self._tasks: dict[str, Task] = {}
        self._attempts: dict[tuple, Attempt] = {}

    def attempt(self, values: tuple) -> Attempt:
        """:func:`attempt_from_values`, remembered."""
        found = self._attempts.get(values)
        if found is None:
            if len(self._attempts) >= self.limit:
                self._attempts.clear()
            found = self._attempts[values] = attempt_from_values(values)
        return found

    def task(self, values: tuple) -> Task:
        """:func:`task_from_values`; a plain task is kept by id, and a copy is handed out."""
        task = task_from_values(values)
        if type(task) is not Task:
            return task
        if len(self._tasks) >= self.limit:
            self._tasks.clear()
        self._tasks[task.task_id] = task
        return task_copy(task)

    def forget_tasks(self, task_ids: Iterable[str]) -> None:
        """Drop what is kept of ``task_ids`` (their definitions may have changed)."""
        for task_id in task_ids:
            self._tasks.pop(task_id, None)

    def known_task(self, task_id: str) -> Task | None:
        """A copy of the kept task ``task_id``, or None if it was not kept."""
        task = self._tasks.get(task_id)
        return None if task is None else task_copy(task)


def run_values(run: Run) -> list[Any]:
    """The :data:`RUN_COLUMNS` values of a run, encoded."""
    return _encode_run(_convert().run_to_record(run))


def run_from_row(row: Mapping[str, Any]) -> Run:
    """The run from its ``runs`` row: a plain row directly (every tick and ``status`` read it),
    anything else (a 0.2.x row, an odd value) through the converter."""
    record = dict(row)
    values = tuple(record.get(column) for column in RUN_COLUMNS)
    run_id, slug, root, created_at, status, reason, tags, description = values
    if (
        _all_text((run_id, slug, root, created_at, tags)) and status in _RUN_STATUSES
        and (reason is None or type(reason) is str) and (description is None or type(description) is str)
    ):
        try:
            decoded_tags = json.loads(tags)
            if type(decoded_tags) is dict:
                return Run(run_id, slug, root, _time(created_at), _RUN_STATUSES[status], reason, decoded_tags,
                           description)
        except ValueError:
            pass
    return _convert().run_from_record(record)


def event_values(event: AttemptEvent) -> list[Any]:
    """The :data:`EVENT_COLUMNS` values of an attempt event, encoded."""
    return _encode_event(_convert().event_to_record(event))


def event_from_row(row: Mapping[str, Any]) -> AttemptEvent:
    """An attempt event from an ``attempt_events`` row."""
    return _convert().event_from_record(dict(row))
