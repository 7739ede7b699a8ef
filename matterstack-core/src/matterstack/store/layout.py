"""Which program wrote a state database, and at which of its schema versions.

Two programs write ``state.sqlite`` files with a ``schema_info.version`` number: the original
MatterStack 0.2.x (versions 1 to 4) and this one. Their numbers overlapped once: the original's
newest release stamps ``"4"`` on a layout that is its v3 plus ``tasks.operator_key``, and this
project's first own layout was also called 4. So a file is identified by what it holds, never
by its number alone:

- a ``schema_info`` row ``writer = matterstack-core`` marks a file of ours (written from schema
  v5 on); its version is our number;
- an unmarked file holding every table of ours is our v4 (written before the mark existed);
- any other unmarked file is the original's, and must hold what that version of the original
  held (a file holding only some of our tables was left half-way by some other program).

:func:`identify` is a pure function of the names in the file, so it is property-tested.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Set
from typing import NamedTuple

from matterstack.store.schema import SCHEMA_VERSION, V4_NEW, WRITER, WRITER_KEY

ORIGINAL = "original"
OURS = "matterstack-core"

ORIGINAL_NEWEST = 4
"""The newest schema MatterStack 0.2.x wrote (0.2.6, git 85ba0aa)."""

OUR_TABLES = frozenset(re.findall(r"^CREATE TABLE (\w+)", "\n".join(V4_NEW), flags=re.MULTILINE))
"""The tables our own layouts add to the original's."""

OUR_TASK_COLUMNS = frozenset({"waiting_on"})

_COMMON_TABLES = frozenset({"schema_info", "runs", "tasks"})
ORIGINAL_REQUIRES: dict[int, tuple[frozenset[str], dict[str, frozenset[str]]]] = {
    1: (_COMMON_TABLES | {"external_runs"}, {}),
    2: (_COMMON_TABLES | {"task_attempts"}, {"tasks": frozenset({"current_attempt_id"})}),
    3: (
        _COMMON_TABLES | {"task_attempts"},
        {"tasks": frozenset({"current_attempt_id"}), "task_attempts": frozenset({"operator_key"})},
    ),
    4: (
        _COMMON_TABLES | {"task_attempts"},
        {"tasks": frozenset({"current_attempt_id", "operator_key"}), "task_attempts": frozenset({"operator_key"})},
    ),
}
"""What a file of each original version holds at least (tables; columns by table)."""


class LayoutError(ValueError):
    """The file is not one this version can open; ``fix`` says what to do instead."""

    def __init__(self, what: str, fix: str):
        super().__init__(what)
        self.fix = fix


class SchemaLayout(NamedTuple):
    """Who wrote a state database (:data:`ORIGINAL` or :data:`OURS`) and at which version."""

    writer: str
    version: int

    @property
    def is_original(self) -> bool:
        """Written by MatterStack 0.2.x."""
        return self.writer == ORIGINAL

    @property
    def is_current(self) -> bool:
        """Our current layout: nothing to migrate."""
        return self.writer == OURS and self.version == SCHEMA_VERSION

    def __str__(self) -> str:
        if self.is_original:
            return f"MatterStack 0.2.x schema v{self.version}"
        return f"schema v{self.version}"


CURRENT = SchemaLayout(OURS, SCHEMA_VERSION)

_NOT_OURS_FIX = "point MatterStack at a run folder's state.sqlite"
_HALF_FIX = "restore the copy made before that change (state.sqlite.0.2.x-v<N>.bak, or your own backup)"


def identify(info: Mapping[str, str], columns: Mapping[str, Set[str]]) -> SchemaLayout:
    """The layout of a file whose ``schema_info`` rows are ``info`` and whose tables (each with
    its column names) are ``columns``; :class:`LayoutError` when it is none we can open."""
    tables = set(columns)
    version_text = info.get("version")
    if not _COMMON_TABLES <= tables or version_text is None or not version_text.isdigit() or int(version_text) < 1:
        raise LayoutError("is a SQLite database but not a MatterStack state database (no schema version)",
                          _NOT_OURS_FIX)
    version = int(version_text)
    writer = info.get(WRITER_KEY)
    if writer is not None:
        return _ours(writer, version, tables, columns)
    if OUR_TABLES <= tables and OUR_TASK_COLUMNS <= columns["tasks"] and version == ORIGINAL_NEWEST:
        return SchemaLayout(OURS, version)
    if version > ORIGINAL_NEWEST:
        raise LayoutError(
            f"says schema v{version} but carries no writer mark: MatterStack 0.2.x wrote up to "
            f"v{ORIGINAL_NEWEST} and this MatterStack marks its own files, so it was written by a newer "
            "release of the original MatterStack",
            "open it with the MatterStack that wrote it",
        )
    ours_present = sorted(OUR_TABLES & tables)
    if ours_present:
        raise LayoutError(
            f"is half-migrated: MatterStack 0.2.x schema v{version} with only some of this version's "
            f"tables ({', '.join(ours_present)})",
            _HALF_FIX,
        )
    _check_holds(version, tables, columns)
    return SchemaLayout(ORIGINAL, version)


def _ours(writer: str, version: int, tables: set[str], columns: Mapping[str, Set[str]]) -> SchemaLayout:
    if writer != WRITER:
        raise LayoutError(f"was written by {writer!r}, not by MatterStack", _NOT_OURS_FIX)
    if version > SCHEMA_VERSION:
        raise LayoutError(
            f"was written by a newer MatterStack (schema v{version}; this version reads up to v{SCHEMA_VERSION})",
            "upgrade matterstack-core to open this run",
        )
    missing = sorted(OUR_TABLES - tables) + sorted(f"tasks.{c}" for c in OUR_TASK_COLUMNS - set(columns["tasks"]))
    if version < SCHEMA_VERSION or missing:
        raise LayoutError(
            f"is half-migrated: marked as this MatterStack's schema v{version} but "
            + (f"missing {', '.join(missing)}" if missing else "no version of ours ever wrote that mark"),
            _HALF_FIX,
        )
    return SchemaLayout(OURS, version)


def _check_holds(version: int, tables: set[str], columns: Mapping[str, Set[str]]) -> None:
    need_tables, need_columns = ORIGINAL_REQUIRES[version]
    missing = sorted(need_tables - tables)
    missing += sorted(
        f"{table}.{column}"
        for table, wanted in need_columns.items()
        if table in tables
        for column in wanted - set(columns[table])
    )
    if missing:
        raise LayoutError(
            f"says MatterStack 0.2.x schema v{version} but lacks {', '.join(missing)}, which that version "
            "always wrote (a half-finished upgrade?)",
            _HALF_FIX,
        )


def read_layout(connection: sqlite3.Connection) -> SchemaLayout:
    """:func:`identify` applied to the database behind ``connection``."""
    tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    columns = {table: {row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')} for table in tables}
    info: dict[str, str] = {}
    if "schema_info" in columns and {"key", "value"} <= columns["schema_info"]:
        info = {str(key): str(value) for key, value in connection.execute("SELECT key, value FROM schema_info")}
    return identify(info, columns)
