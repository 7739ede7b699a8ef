"""Changes of a task's resources (``rerun --time-limit``, ``--cores``, ``--memory-gb``,
``--gpus``): the task's row takes the new values, which its next attempt is submitted with,
and ``task_resource_changes`` keeps every change, its time and its reason.

Earlier attempts keep what they were submitted with: :func:`attempt_resources` works it out
from the task's current values and the changes made after each attempt was created. The
table is created by the first change, so a run that never had one is left exactly as its
schema version made it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime

import attrs

from matterstack.core.records import Attempt
from matterstack.core.times import datetime_from_text, datetime_to_text, utc_now

RESOURCE_FIELDS = ("time_limit_minutes", "cores", "memory_gb", "gpus")
"""The task fields a rerun may change, in the order they are shown."""

_TABLE = "task_resource_changes"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} (\n\tid INTEGER PRIMARY KEY AUTOINCREMENT, \n"
    "\trun_id VARCHAR NOT NULL, \n\ttask_id VARCHAR NOT NULL, \n\tchanges JSON NOT NULL, \n"
    "\treason TEXT NOT NULL, \n\tat DATETIME NOT NULL\n)"
)


@attrs.frozen
class ResourceChange:
    """One change of a task's resources: ``changes`` maps a field to ``(old, new)``."""

    task_id: str
    changes: Mapping[str, tuple[int | None, int]]
    reason: str
    at: datetime

    def describe(self) -> str:
        """``time_limit_minutes 1 → 5, cores 2 → 4``."""
        return ", ".join(f"{field} {_shown(old)} → {new}" for field, (old, new) in self.changes.items())

    def as_dict(self) -> dict:
        """The change as JSON-ready data."""
        return {"at": self.at.isoformat(), "reason": self.reason,
                "changes": {field: list(pair) for field, pair in self.changes.items()}}


def _shown(value: int | None) -> str:
    return "unset" if value is None else str(value)


def change_task_resources(store, task_id: str, resources: Mapping[str, int], reason: str) -> ResourceChange | None:
    """Give ``task_id`` the ``resources`` (field → value) and record the change, in one
    transaction; ``None`` (and nothing written) when every value is already in force."""
    unknown = sorted(set(resources) - set(RESOURCE_FIELDS))
    if unknown:
        raise store._refuse(f"{', '.join(unknown)} is not a task resource", f"use {', '.join(RESOURCE_FIELDS)}")
    fields = [field for field in RESOURCE_FIELDS if field in resources]
    with store._transaction() as connection:
        rows = store._select(f"SELECT {', '.join(RESOURCE_FIELDS)} FROM tasks WHERE task_id = ?", (task_id,))
        if not rows:
            raise store._refuse(f"no task {task_id!r} in this run", "`matterstack status` lists the tasks")
        changes = {field: (rows[0][field], resources[field]) for field in fields if rows[0][field] != resources[field]}
        if not changes:
            return None
        change = ResourceChange(task_id, changes, reason, utc_now())
        connection.execute(_CREATE)
        connection.execute(f"UPDATE tasks SET {', '.join(f'{field} = ?' for field in changes)} WHERE task_id = ?",
                           (*(new for _, new in changes.values()), task_id))
        connection.execute(f"INSERT INTO {_TABLE} (run_id, task_id, changes, reason, at) VALUES (?, ?, ?, ?, ?)",
                           (store.run_id, task_id, json.dumps(change.as_dict()["changes"]), reason,
                            datetime_to_text(change.at)))
    return change


def task_resource_changes(store, task_id: str | None = None) -> list[ResourceChange]:
    """Every resource change of ``task_id`` (or of every task), oldest first."""
    if not store._select("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", (_TABLE,)):
        return []
    sql = f"SELECT task_id, changes, reason, at FROM {_TABLE}"
    rows = (store._select(f"{sql} WHERE task_id = ? ORDER BY id", (task_id,)) if task_id is not None
            else store._select(f"{sql} ORDER BY id"))
    return [ResourceChange(row["task_id"], {field: tuple(pair) for field, pair in json.loads(row["changes"]).items()},
                           row["reason"], datetime_from_text(row["at"])) for row in rows]


def attempt_resources(task, attempts: Iterable[Attempt], changes: list[ResourceChange]) -> dict[str, dict]:
    """For each attempt of ``task`` (oldest first): ``resources``, the values it was created
    with, and ``resource_changes``, the changes made since the attempt before it."""
    attempts = list(attempts)
    current = {field: getattr(task, field) for field in RESOURCE_FIELDS}
    out, previous = {}, None
    for attempt in attempts:
        created = attempt.created_at
        values = dict(current)
        for change in reversed(changes):
            if created is None or change.at > created:
                values.update({field: old for field, (old, _) in change.changes.items()})
        since = [c.as_dict() for c in changes
                 if created is not None and c.at <= created and (previous is None or c.at > previous)]
        out[attempt.attempt_id] = {"resources": values, "resource_changes": since}
        previous = created if created is not None else previous
    return out
