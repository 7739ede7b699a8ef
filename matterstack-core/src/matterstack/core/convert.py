"""Model ⇄ plain JSON-able dicts, through one cattrs converter.

The dicts use the state database's column names, so the store writes them as rows and reads
rows back with the ``*_from_record`` functions. Every field round-trips exactly. Reading also
understands what MatterStack 0.2.x wrote: naive datetimes (UTC), ``0``/``1`` booleans, JSON
columns still as text, and the Python reprs it stored for explicit task files.

Encodings: enums as their value strings, ``dependencies`` as a sorted list; datetimes and
``files`` values as :mod:`matterstack.core.encoding` writes them (re-exported here).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from matterstack.core.encoding import file_from_record, file_to_record
from matterstack.core.external import ExternalTask, external_request_from_command
from matterstack.core.gate import GateTask
from matterstack.core.records import Attempt, AttemptEvent, Run
from matterstack.core.times import datetime_from_text, datetime_to_text
from matterstack.core.workflow import FileSpec, Task
from matterstack.errors import MatterStackError, StoreError, WorkflowError

TASK_TYPES: dict[str, type[Task]] = {cls.task_type: cls for cls in (Task, GateTask, ExternalTask)}
"""``tasks.task_type`` values and the class each is read back as."""

TASK_COLUMNS = (
    "task_id", "image", "command", "files", "env", "dependencies", "cores", "memory_gb",
    "gpus", "time_limit_minutes", "allow_dependency_failure", "allow_failure",
    "download_patterns", "task_type", "operator_key",
)
"""The keys of :func:`task_to_record`, in this order."""

_TASK_JSON_COLUMNS = ("files", "env", "dependencies", "download_patterns")
_RECORD_JSON_COLUMNS = ("tags", "operator_data", "data")

converter = cattrs.Converter()
"""The converter for every model value MatterStack stores."""


def _files_to_record(files: dict[str, FileSpec]) -> dict[str, Any]:
    return {name: file_to_record(value) for name, value in files.items()}


converter.register_unstructure_hook(datetime, datetime_to_text)
converter.register_structure_hook(datetime, lambda value, _: datetime_from_text(value))
_unstructure_task_fields = make_dict_unstructure_fn(
    Task,
    converter,
    files=override(unstruct_hook=_files_to_record),
    dependencies=override(unstruct_hook=sorted),
)
# task_from_record decodes files itself (the legacy forms need the task id for errors).
_structure_task_fields = {
    cls: make_dict_structure_fn(cls, converter, files=override(struct_hook=lambda value, _: value))
    for cls in TASK_TYPES.values()
}


def task_to_record(task: Task) -> dict[str, Any]:
    """The ``tasks`` row of ``task`` (keys :data:`TASK_COLUMNS`), JSON-able values only."""
    record = _unstructure_task_fields(task)
    record["task_type"] = task.task_type
    return {column: record[column] for column in TASK_COLUMNS}


def task_from_record(record: dict[str, Any]) -> Task:
    """The task a ``tasks`` row describes; the class is chosen by ``task_type``.

    Columns a row does not have (``download_patterns`` before schema 2, ``operator_key``
    before ours) take the model's defaults; other columns (``status``, ``run_id``) are ignored.
    """
    task_id = record.get("task_id", "?")
    where = f"task {task_id!r}"
    data = _decode_json_columns(record, _TASK_JSON_COLUMNS, WorkflowError, where)
    task_type = data.pop("task_type", Task.task_type) or Task.task_type
    cls = TASK_TYPES.get(task_type)
    if cls is None:
        raise WorkflowError(
            f"unknown task type {task_type!r}",
            where=where,
            fix=f"known task types: {', '.join(TASK_TYPES)}",
        )
    data["files"] = {
        name: file_from_record(value, task_id=task_id, name=name)
        for name, value in (data.get("files") or {}).items()
    }
    if cls is ExternalTask:
        data.update(external_request_from_command(data.get("command", "")) or {})
    return _structured(lambda: _structure_task_fields[cls](data, cls), WorkflowError, where)


def _structure_record(record: dict[str, Any], cls: type) -> Any:
    where = f"{cls.__name__} {record.get('attempt_id') or record.get('run_id')!r}"
    data = _decode_json_columns(record, _RECORD_JSON_COLUMNS, StoreError, where)
    return _structured(lambda: converter.structure(data, cls), StoreError, where)


def _decode_json_columns(
    record: dict[str, Any], columns: tuple[str, ...], error: type[MatterStackError], where: str
) -> dict[str, Any]:
    # sqlite hands JSON columns back as text; callers may pass either form.
    data = dict(record)
    for column in columns:
        if isinstance(data.get(column), str):
            try:
                data[column] = json.loads(data[column])
            except json.JSONDecodeError as exc:
                raise error(f"column {column!r} is not valid JSON: {exc}", where=where) from None
    return data


def _structured(build: Any, error: type[MatterStackError], where: str) -> Any:
    try:
        return build()
    except cattrs.BaseValidationError as group:
        own = _first_own_error(group)
        if own is not None:
            raise own from None
        problems = "; ".join(cattrs.transform_error(group, path="record"))
        raise error(f"stored record does not validate: {problems}", where=where) from None


def _first_own_error(group: BaseException) -> MatterStackError | None:
    # A model validator's own error (e.g. a bad file name) says more than cattrs' summary.
    if isinstance(group, MatterStackError):
        return group
    for inner in getattr(group, "exceptions", ()):
        found = _first_own_error(inner)
        if found is not None:
            return found
    return None


def run_to_record(run: Run) -> dict[str, Any]:
    """The ``runs`` row of ``run``."""
    return converter.unstructure(run)


def run_from_record(record: dict[str, Any]) -> Run:
    """The run a ``runs`` row describes."""
    return _structure_record(record, Run)


def attempt_to_record(attempt: Attempt) -> dict[str, Any]:
    """The ``task_attempts`` row of ``attempt``."""
    return converter.unstructure(attempt)


def attempt_from_record(record: dict[str, Any]) -> Attempt:
    """The attempt a ``task_attempts`` row describes (0.2.x rows too)."""
    return _structure_record(record, Attempt)


def event_to_record(event: AttemptEvent) -> dict[str, Any]:
    """The ``attempt_events`` row of ``event``."""
    return converter.unstructure(event)


def event_from_record(record: dict[str, Any]) -> AttemptEvent:
    """The event an ``attempt_events`` row describes."""
    return _structure_record(record, AttemptEvent)
