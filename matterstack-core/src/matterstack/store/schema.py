"""The state database layouts: versions 1–4 exactly as MatterStack 0.2.x wrote them, and ours.

``ORIGINAL_DDL`` reproduces, byte for byte, the ``CREATE`` statements that SQLAlchemy emitted
for the original (tab indentation, ``", "`` line ends), so a file built from them is
indistinguishable from a legacy one. Our layout (``CURRENT_DDL``) is additive: it keeps every
legacy table and column and adds the dependency table, the ready counter and the event logs.
Our files carry a writer mark in ``schema_info``, because the numbers alone collided once
(see :mod:`matterstack.store.layout`).

Columns are always read by name: their order differs between files created at a version and
files migrated to it.
"""

from __future__ import annotations

SCHEMA_VERSION = 5
"""Our current layout. v4 was the same tables without the writer mark (and shares its number
with the original's newest layout); v5 adds the mark."""

WRITER_KEY = "writer"
WRITER = "matterstack-core"
"""The ``schema_info`` row every file of ours carries from v5 on."""


def _table(name: str, *lines: str, suffix: str = "") -> str:
    body = ", \n\t".join(lines)
    return f"CREATE TABLE {name} (\n\t{body}\n){suffix}"


SCHEMA_INFO = _table(
    "schema_info", '"key" VARCHAR NOT NULL', "value VARCHAR NOT NULL", 'PRIMARY KEY ("key")'
)

RUNS = _table(
    "runs",
    "run_id VARCHAR NOT NULL",
    "workspace_slug VARCHAR NOT NULL",
    "root_path VARCHAR NOT NULL",
    "created_at DATETIME NOT NULL",
    "status VARCHAR NOT NULL",
    "status_reason TEXT",
    "tags JSON NOT NULL",
    "description TEXT",
    "PRIMARY KEY (run_id)",
)

_TASK_HEAD = (
    "task_id VARCHAR NOT NULL",
    "run_id VARCHAR NOT NULL",
    "image VARCHAR NOT NULL",
    "command TEXT NOT NULL",
    "files JSON NOT NULL",
    "env JSON NOT NULL",
    "dependencies JSON NOT NULL",
)
_TASK_KEYS = ("PRIMARY KEY (task_id)", "FOREIGN KEY(run_id) REFERENCES runs (run_id)")

TASKS_V1 = _table(
    "tasks",
    *_TASK_HEAD,
    "cores INTEGER NOT NULL",
    "memory_gb INTEGER NOT NULL",
    "gpus INTEGER NOT NULL",
    "time_limit_minutes INTEGER NOT NULL",
    "allow_dependency_failure BOOLEAN NOT NULL",
    "allow_failure BOOLEAN NOT NULL",
    "status VARCHAR NOT NULL",
    "task_type VARCHAR NOT NULL",
    *_TASK_KEYS,
)

_TASK_BODY_V2 = (
    *_TASK_HEAD,
    "cores INTEGER",
    "memory_gb INTEGER",
    "gpus INTEGER",
    "time_limit_minutes INTEGER",
    "allow_dependency_failure BOOLEAN NOT NULL",
    "allow_failure BOOLEAN NOT NULL",
    "download_patterns JSON",
    "status VARCHAR NOT NULL",
    "task_type VARCHAR NOT NULL",
    "current_attempt_id VARCHAR",
)

TASKS_V2 = _table("tasks", *_TASK_BODY_V2, *_TASK_KEYS)

EXTERNAL_RUNS = _table(
    "external_runs",
    "task_id VARCHAR NOT NULL",
    "run_id VARCHAR NOT NULL",
    "operator_type VARCHAR NOT NULL",
    "external_id VARCHAR",
    "status VARCHAR NOT NULL",
    "operator_data JSON NOT NULL",
    "relative_path VARCHAR",
    "PRIMARY KEY (task_id)",
    "FOREIGN KEY(task_id) REFERENCES tasks (task_id)",
    "FOREIGN KEY(run_id) REFERENCES runs (run_id)",
)


def _task_attempts(*, operator_key: bool) -> str:
    return _table(
        "task_attempts",
        "attempt_id VARCHAR NOT NULL",
        "task_id VARCHAR NOT NULL",
        "run_id VARCHAR NOT NULL",
        "attempt_index INTEGER NOT NULL",
        "status VARCHAR NOT NULL",
        *(("operator_key VARCHAR",) if operator_key else ()),
        "operator_type VARCHAR",
        "external_id VARCHAR",
        "operator_data JSON NOT NULL",
        "relative_path VARCHAR",
        "created_at DATETIME",
        "submitted_at DATETIME",
        "ended_at DATETIME",
        "status_reason TEXT",
        "PRIMARY KEY (attempt_id)",
        "CONSTRAINT uq_task_attempts_task_index UNIQUE (task_id, attempt_index)",
        "FOREIGN KEY(task_id) REFERENCES tasks (task_id)",
        "FOREIGN KEY(run_id) REFERENCES runs (run_id)",
    )


TASK_ATTEMPTS_V2 = _task_attempts(operator_key=False)
TASK_ATTEMPTS_V3 = _task_attempts(operator_key=True)

IX_ATTEMPTS_RUN_STATUS = "CREATE INDEX ix_task_attempts_run_id_status ON task_attempts (run_id, status)"
IX_ATTEMPTS_RUN = "CREATE INDEX ix_task_attempts_run_id ON task_attempts (run_id)"
IX_ATTEMPTS_TASK = "CREATE INDEX ix_task_attempts_task_id ON task_attempts (task_id)"

V1 = (SCHEMA_INFO, RUNS, TASKS_V1, EXTERNAL_RUNS)
V2 = (
    SCHEMA_INFO,
    RUNS,
    TASKS_V2,
    TASK_ATTEMPTS_V2,
    IX_ATTEMPTS_RUN_STATUS,
    IX_ATTEMPTS_RUN,
    IX_ATTEMPTS_TASK,
    EXTERNAL_RUNS,
)
V3 = (
    SCHEMA_INFO,
    RUNS,
    TASKS_V2,
    TASK_ATTEMPTS_V3,
    IX_ATTEMPTS_TASK,
    IX_ATTEMPTS_RUN,
    IX_ATTEMPTS_RUN_STATUS,
    EXTERNAL_RUNS,
)

V4_TASK_COLUMNS = ("operator_key VARCHAR", "waiting_on INTEGER NOT NULL DEFAULT 0")

TASK_DEPENDENCIES = _table(
    "task_dependencies",
    "task_id VARCHAR NOT NULL",
    "depends_on VARCHAR NOT NULL",
    "PRIMARY KEY (task_id, depends_on)",
    suffix=" WITHOUT ROWID",
)
ATTEMPT_EVENTS = _table(
    "attempt_events",
    "id INTEGER PRIMARY KEY AUTOINCREMENT",
    "run_id VARCHAR NOT NULL",
    "task_id VARCHAR NOT NULL",
    "attempt_id VARCHAR NOT NULL",
    "from_status VARCHAR",
    "to_status VARCHAR NOT NULL",
    "reason TEXT NOT NULL",
    "at DATETIME NOT NULL",
    "data JSON NOT NULL",
)
RUN_EVENTS = _table(
    "run_events",
    "id INTEGER PRIMARY KEY AUTOINCREMENT",
    "run_id VARCHAR NOT NULL",
    "from_status VARCHAR",
    "to_status VARCHAR NOT NULL",
    "reason TEXT NOT NULL",
    "at DATETIME NOT NULL",
)
TASK_EVENTS = _table(
    "task_events",
    "id INTEGER PRIMARY KEY AUTOINCREMENT",
    "run_id VARCHAR NOT NULL",
    "task_id VARCHAR NOT NULL",
    "from_status VARCHAR",
    "to_status VARCHAR NOT NULL",
    "reason TEXT NOT NULL",
    "at DATETIME NOT NULL",
)
RUN_NOTES = _table(
    "run_notes",
    "id INTEGER PRIMARY KEY AUTOINCREMENT",
    "run_id VARCHAR NOT NULL",
    "text TEXT NOT NULL",
    "at DATETIME NOT NULL",
)
OPERATOR_CONTACTS = _table(
    "operator_contacts",
    "operator_key VARCHAR NOT NULL",
    "last_ok_at DATETIME",
    "last_error_at DATETIME",
    "last_error TEXT",
    "PRIMARY KEY (operator_key)",
)

ACTIVE_ATTEMPT_FILTER = "status IN ('CREATED', 'SUBMITTED', 'WAITING_EXTERNAL', 'RUNNING')"
TERMINAL_TASK_STATUSES = "('CANCELLED', 'COMPLETED', 'FAILED', 'SKIPPED')"
READY_TASK_FILTER = "status = 'PENDING' AND waiting_on = 0 AND current_attempt_id IS NULL"

# `tasks.waiting_on` counts dependencies that are missing or not yet terminal, so "ready" is
# the partial index ix_tasks_ready instead of a join over the whole run. The trigger keeps
# it exact whenever any write moves a task into or out of a terminal status.
WAITING_ON_TRIGGER = (
    "CREATE TRIGGER tr_tasks_waiting_on AFTER UPDATE OF status ON tasks\n"
    f"WHEN (OLD.status IN {TERMINAL_TASK_STATUSES}) != (NEW.status IN {TERMINAL_TASK_STATUSES})\n"
    "BEGIN\n"
    f"\tUPDATE tasks SET waiting_on = waiting_on + (CASE WHEN NEW.status IN {TERMINAL_TASK_STATUSES}"
    " THEN -1 ELSE 1 END)\n"
    "\tWHERE task_id IN (SELECT task_id FROM task_dependencies WHERE depends_on = NEW.task_id);\n"
    "END"
)

V4_NEW = (
    TASK_DEPENDENCIES,
    "CREATE INDEX ix_task_dependencies_depends_on ON task_dependencies (depends_on, task_id)",
    ATTEMPT_EVENTS,
    "CREATE INDEX ix_attempt_events_attempt_id ON attempt_events (attempt_id)",
    RUN_EVENTS,
    TASK_EVENTS,
    "CREATE INDEX ix_task_events_task_id ON task_events (task_id)",
    RUN_NOTES,
    OPERATOR_CONTACTS,
    "CREATE INDEX ix_tasks_status ON tasks (status)",
    f"CREATE INDEX ix_tasks_ready ON tasks (status, waiting_on) WHERE {READY_TASK_FILTER}",
    f"CREATE INDEX ix_task_attempts_active ON task_attempts (status) WHERE {ACTIVE_ATTEMPT_FILTER}",
    "CREATE INDEX ix_task_attempts_operator_key ON task_attempts (operator_key)",
    WAITING_ON_TRIGGER,
)

TASKS_ORIGINAL_V4 = _table("tasks", *_TASK_BODY_V2[:-1], "operator_key VARCHAR", _TASK_BODY_V2[-1], *_TASK_KEYS)
V4_ORIGINAL = (
    SCHEMA_INFO,
    RUNS,
    TASKS_ORIGINAL_V4,
    TASK_ATTEMPTS_V3,
    IX_ATTEMPTS_TASK,
    IX_ATTEMPTS_RUN,
    IX_ATTEMPTS_RUN_STATUS,
    EXTERNAL_RUNS,
)

TASKS_CURRENT = _table("tasks", *_TASK_BODY_V2, *V4_TASK_COLUMNS, *_TASK_KEYS)
CURRENT_DDL = (
    SCHEMA_INFO,
    RUNS,
    TASKS_CURRENT,
    TASK_ATTEMPTS_V3,
    IX_ATTEMPTS_TASK,
    IX_ATTEMPTS_RUN,
    IX_ATTEMPTS_RUN_STATUS,
    EXTERNAL_RUNS,
    *V4_NEW,
)

ORIGINAL_DDL = {1: V1, 2: V2, 3: V3, 4: V4_ORIGINAL}
"""Every statement with which MatterStack 0.2.x created a database at a given version.

The original emitted the three ``task_attempts`` indexes in no fixed order; files differ.
"""

TASK_COLUMNS = (
    "task_id",
    "image",
    "command",
    "files",
    "env",
    "dependencies",
    "cores",
    "memory_gb",
    "gpus",
    "time_limit_minutes",
    "allow_dependency_failure",
    "allow_failure",
    "download_patterns",
    "task_type",
    "operator_key",
)
"""The ``tasks`` columns that hold a task's definition (``task_to_record`` keys)."""

ATTEMPT_COLUMNS = (
    "attempt_id",
    "task_id",
    "run_id",
    "attempt_index",
    "status",
    "operator_key",
    "operator_type",
    "external_id",
    "operator_data",
    "relative_path",
    "created_at",
    "submitted_at",
    "ended_at",
    "status_reason",
)
"""The ``task_attempts`` columns (``attempt_to_record`` keys)."""

RUN_COLUMNS = (
    "run_id",
    "workspace_slug",
    "root_path",
    "created_at",
    "status",
    "status_reason",
    "tags",
    "description",
)
"""The ``runs`` columns (``run_to_record`` keys)."""

EVENT_COLUMNS = ("run_id", "task_id", "attempt_id", "from_status", "to_status", "reason", "at", "data")
"""The ``attempt_events`` columns written for each event (``id`` is assigned by SQLite)."""

JSON_COLUMNS = frozenset(
    {"files", "env", "dependencies", "download_patterns", "operator_data", "tags", "data"}
)
"""Columns holding one ``json.dumps`` document; "nothing" is the text ``null``, never NULL."""

BOOLEAN_COLUMNS = frozenset({"allow_dependency_failure", "allow_failure"})
