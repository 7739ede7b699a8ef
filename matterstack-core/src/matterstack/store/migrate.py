"""Forward migration of a state database to the current schema, in one transaction.

Each step takes an original file from version N to N+1 and is written against what real files of
version N contain (columns are looked up by name; some 0.2.x "v1" files already have
``download_patterns``). All steps run inside one ``BEGIN IMMEDIATE`` ... ``COMMIT`` while
the file is still in its legacy rollback-journal mode, so a failure anywhere rolls the file
back to exactly what it was.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

from matterstack.core.operator_key import resolve_attempt_operator_key
from matterstack.errors import StoreError
from matterstack.store import schema
from matterstack.store.layout import LayoutError, SchemaLayout, read_layout
from matterstack.store.original_copy import keep_original_copy

LEGACY_ATTEMPT_NAMESPACE = uuid.UUID("6df7afdd-8f9f-4b0c-9a2c-6f2b0c2b2b1a")
"""The namespace of the deterministic ids MatterStack 0.2.5+ gave attempts made from 0.2.4
external runs: ``uuid5(namespace, f"{run_id}:{task_id}")``."""


def legacy_attempt_id(run_id: str, task_id: str) -> str:
    """The id of the attempt that stands for a 0.2.4 external run (same as the original)."""
    return str(uuid.uuid5(LEGACY_ATTEMPT_NAMESPACE, f"{run_id}:{task_id}"))


def read_version(connection: sqlite3.Connection) -> int:
    """The schema version recorded in ``schema_info``."""
    row = connection.execute("SELECT value FROM schema_info WHERE key = 'version'").fetchone()
    return int(row[0])


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}


def _tables(connection: sqlite3.Connection) -> set[str]:
    return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _rebuild_tasks_as_v2(connection: sqlite3.Connection) -> None:
    """Rebuild ``tasks`` with the v2 layout, keeping every row, value and ``rowid``.

    v2 made the resource columns nullable, and today's tasks leave them unset, so new tasks
    could not be added to a 0.2.4 run with its NOT NULL columns. SQLite cannot relax a
    constraint in place, hence the copy (the original only appended a column and then
    failed on the missing ``download_patterns``).
    """
    old_columns = _columns(connection, "tasks")
    # Legacy mode keeps external_runs' "REFERENCES tasks" pointing at the new table.
    connection.execute("PRAGMA legacy_alter_table = ON")
    connection.execute("ALTER TABLE tasks RENAME TO tasks_v1")
    connection.execute("PRAGMA legacy_alter_table = OFF")
    connection.execute(schema.TASKS_V2)
    copied = [column for column in _columns(connection, "tasks") if column in old_columns]
    listed = ", ".join(copied)
    connection.execute(f"INSERT INTO tasks (rowid, {listed}) SELECT rowid, {listed} FROM tasks_v1 ORDER BY rowid")
    connection.execute("DROP TABLE tasks_v1")


def _v1_to_v2(connection: sqlite3.Connection) -> None:
    """0.2.5's layout: ``task_attempts``, one attempt per 0.2.4 external run."""
    _rebuild_tasks_as_v2(connection)
    connection.execute("UPDATE tasks SET download_patterns = 'null' WHERE download_patterns IS NULL")
    if "task_attempts" not in _tables(connection):
        for statement in (
            schema.TASK_ATTEMPTS_V2,
            schema.IX_ATTEMPTS_RUN_STATUS,
            schema.IX_ATTEMPTS_RUN,
            schema.IX_ATTEMPTS_TASK,
        ):
            connection.execute(statement)
    external_runs = connection.execute(
        "SELECT e.task_id, e.run_id, e.operator_type, e.external_id, e.status, e.operator_data,"
        " e.relative_path, r.created_at FROM external_runs e LEFT JOIN runs r USING (run_id)"
        " ORDER BY e.rowid"
    ).fetchall()
    attempts = [
        (legacy_attempt_id(run_id, task_id), task_id, run_id, status, operator_type,
         external_id, operator_data, relative_path, created_at)
        for task_id, run_id, operator_type, external_id, status, operator_data, relative_path,
        created_at in external_runs
    ]
    connection.executemany(
        "INSERT OR IGNORE INTO task_attempts (attempt_id, task_id, run_id, attempt_index, status,"
        " operator_type, external_id, operator_data, relative_path, created_at)"
        " VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?)",
        attempts,
    )
    connection.executemany(
        "UPDATE tasks SET current_attempt_id = ? WHERE task_id = ? AND current_attempt_id IS NULL",
        [(attempt[0], attempt[1]) for attempt in attempts],
    )


def backfill_operator_keys(connection: sqlite3.Connection) -> None:
    """Fill a NULL ``operator_key`` from ``operator_data`` or the legacy ``operator_type``.

    Keys already present are never touched; an attempt with neither (a "stub") stays NULL.
    """
    rows = connection.execute(
        "SELECT attempt_id, operator_data, operator_type FROM task_attempts WHERE operator_key IS NULL"
    ).fetchall()
    updates = []
    for attempt_id, operator_data, operator_type in rows:
        try:
            data = json.loads(operator_data) if operator_data else None
        except ValueError:
            data = None
        key = resolve_attempt_operator_key(None, data, operator_type).key
        if key is not None:
            updates.append((key, attempt_id))
    connection.executemany("UPDATE task_attempts SET operator_key = ? WHERE attempt_id = ?", updates)


def _v2_to_v3(connection: sqlite3.Connection) -> None:
    """0.2.7's layout: ``task_attempts.operator_key``, backfilled (0.2.7 itself did not)."""
    if "operator_key" not in _columns(connection, "task_attempts"):
        connection.execute("ALTER TABLE task_attempts ADD COLUMN operator_key VARCHAR")
    backfill_operator_keys(connection)


COUNT_UNFINISHED_DEPENDENCIES = (
    "SELECT COUNT(*) FROM task_dependencies d LEFT JOIN tasks dep ON dep.task_id = d.depends_on"
    " WHERE d.task_id = tasks.task_id"
    f" AND (dep.status IS NULL OR dep.status NOT IN {schema.TERMINAL_TASK_STATUSES})"
)
"""Correlated subquery: dependencies of ``tasks`` that are missing or not yet terminal."""


def _original_to_ours(connection: sqlite3.Connection) -> None:
    """From the original's v3 or v4 (v3 plus ``tasks.operator_key``) to our layout: dependency
    table, ready counter, event logs and the indexes a tick filters on."""
    # 0.2.7 left operator_key NULL on attempts it inherited from 0.2.5; a v3 file has them too.
    backfill_operator_keys(connection)
    present = _columns(connection, "tasks")
    for column in schema.V4_TASK_COLUMNS:
        if column.split()[0] not in present:
            connection.execute(f"ALTER TABLE tasks ADD COLUMN {column}")
    for statement in schema.V4_NEW:
        connection.execute(statement)
    connection.execute(
        "INSERT OR IGNORE INTO task_dependencies (task_id, depends_on)"
        " SELECT t.task_id, j.value FROM tasks t, json_each(t.dependencies) j ORDER BY t.rowid"
    )
    connection.execute(f"UPDATE tasks SET waiting_on = ({COUNT_UNFINISHED_DEPENDENCIES})")


STEPS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _original_to_ours}
"""``STEPS[n]`` takes an original file from version n to n + 1 (3: straight to our layout)."""


def _steps_for(layout: SchemaLayout) -> list[Callable[[sqlite3.Connection], None]]:
    if not layout.is_original:
        return []
    steps = [STEPS[version] for version in range(layout.version, 3)]
    return [*steps, _original_to_ours]


def migrate(connection: sqlite3.Connection, path: Path | str, *, keep_original: bool = True) -> SchemaLayout | None:
    """Bring the database to our current layout; return the layout it had, or None.

    ``connection`` must be in autocommit mode (``isolation_level=None``). The layout is read
    again under the write lock, so two processes opening one old file migrate it once (the
    second finds it current and returns None). With ``keep_original``, a file the original
    MatterStack wrote is first copied beside itself (:func:`keep_original_copy`), so the
    bytes it wrote survive whatever happens next.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        layout = read_layout(connection)
        if not layout.is_current:
            if layout.is_original and keep_original:
                keep_original_copy(connection, Path(path), layout)
            for step in _steps_for(layout):
                step(connection)
            connection.executemany(
                "INSERT OR REPLACE INTO schema_info (key, value) VALUES (?, ?)",
                [("version", str(schema.SCHEMA_VERSION)), (schema.WRITER_KEY, schema.WRITER)],
            )
        connection.execute("COMMIT")
    except BaseException as exc:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        if isinstance(exc, LayoutError):
            raise StoreError(str(exc), where=str(path), fix=exc.fix) from exc
        if isinstance(exc, OSError):
            raise StoreError(
                f"could not keep a copy of the file as MatterStack 0.2.x wrote it ({exc}); nothing was changed",
                where=str(path),
                fix="free disk space in the run folder (the copy is as large as state.sqlite) and try again",
            ) from exc
        if not isinstance(exc, (sqlite3.Error, ValueError)):
            raise
        raise StoreError(
            f"migration to schema v{schema.SCHEMA_VERSION} failed ({exc}); the file was left unchanged",
            where=str(path),
            fix="report it with a copy of state.sqlite; the MatterStack that wrote it still reads it",
        ) from exc
    return None if layout.is_current else layout
