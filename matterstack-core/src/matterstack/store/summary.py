"""A run's state at a glance (``matterstack status``), read by one aggregate query.

The summary needs none of the record decoding of :class:`~matterstack.store.StateStore`, so
it reads the file with :mod:`sqlite3` alone, through the same checks and read-only open as
``StateStore.open(..., readonly=True)``: task counts come from the ``ix_tasks_status`` index
and the active attempts from the partial index ``ix_task_attempts_active``. A file of an older
schema is opened through the store instead, which migrates it first, as every command does.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from matterstack.core.times import datetime_from_text
from matterstack.errors import StoreError
from matterstack.store import preflight
from matterstack.store.schema import ACTIVE_ATTEMPT_FILTER

# Grouping a million tasks by status reads every entry of ix_tasks_status (160 ms here), but
# SQLite counts a whole table without reading its entries (7 ms). So the tasks are counted,
# each status but PENDING is counted over its own range of the index, and PENDING is the rest:
# a run that is mostly waiting costs next to nothing, one mostly finished at most what the
# grouping did. One statement, so every count is of the same snapshot.
SUMMARY_SQL = (
    "SELECT run_id, workspace_slug, status, status_reason, created_at,"
    " (SELECT COUNT(*) FROM tasks),"
    " (SELECT json_group_object(status, n) FROM"
    " (SELECT status, COUNT(*) AS n FROM tasks WHERE status < 'PENDING' GROUP BY status"
    " UNION ALL SELECT status, COUNT(*) AS n FROM tasks WHERE status > 'PENDING' GROUP BY status)),"
    f" (SELECT COUNT(*) FROM task_attempts WHERE {ACTIVE_ATTEMPT_FILTER})"
    " FROM runs"
)
BUSY_TIMEOUT_SECONDS = 5.0


def run_summary(db_path: Path | str) -> dict[str, Any]:
    """``run_id``, ``workspace_slug``, ``status``, ``status_reason``, ``created_at`` (ISO
    text), ``tasks`` (count by status) and ``active_attempts`` of the run in ``db_path``.

    No run lock is taken; nothing is written unless the file needs migrating.
    """
    path = Path(db_path)
    preflight.check_local_disk(path)
    if not preflight.inspect(path).layout.is_current:
        from matterstack.store.state_store import StateStore

        # Migrated on disk as every first open does, unless this process may not write it:
        # then read through a migrated copy in memory.
        with StateStore.open(path, readonly=not preflight.can_write(path)) as store:
            return _summary(store.db.conn, path)
    connection = preflight.open_readonly(path, BUSY_TIMEOUT_SECONDS)
    try:
        return _summary(connection, path)
    finally:
        connection.close()


def _summary(connection, path: Path) -> dict[str, Any]:
    try:
        rows = connection.execute(SUMMARY_SQL).fetchall()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot be read ({exc})", where=str(path),
                         fix="check the file with `PRAGMA integrity_check`, or restore it from a backup") from exc
    if len(rows) != 1:
        raise StoreError(f"holds {len(rows)} runs, expected one", where=str(path),
                         fix="point MatterStack at a run folder's state.sqlite")
    run_id, slug, status, reason, created_at, total, others, active = rows[0]
    counts = json.loads(others)
    pending = total - sum(counts.values())
    if pending:
        counts["PENDING"] = pending
    return {
        "run_id": run_id,
        "workspace_slug": slug,
        "status": status,
        "status_reason": reason,
        "created_at": _iso(created_at),
        "tasks": dict(sorted(counts.items())),
        "active_attempts": active,
    }


def _iso(text: str) -> str:
    """The stored creation time as ISO-8601 text in UTC, as :class:`~matterstack.core.records.Run`
    gives it (0.2.x files kept naive UTC times, sometimes with a trailing ``Z``)."""
    return datetime_from_text(text).isoformat()
