"""The connection underneath a :class:`~matterstack.store.StateStore`.

Reads return rows as dicts (so columns are read by name whatever their order in the file),
straight from :mod:`sqlite3`: no wrapper library is imported on the way to a tick. Writes are explicit ``BEGIN IMMEDIATE`` ...
``COMMIT`` transactions, one per batch, with ``executemany`` on the hot paths.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from matterstack.errors import DatabaseBusyError, StoreError
from matterstack.store.rows import DecodedRecords

IDS_PARAMETER = "(SELECT value FROM json_each(?))"
"""SQL for ``IN`` over a list of ids passed as one JSON parameter (no 999-variable limit)."""


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether SQLite gave up waiting for a lock another connection holds (``SQLITE_BUSY``)."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_BUSY
    return str(exc).startswith("database is locked")


def ids_parameter(ids: Iterable[str]) -> str:
    """The JSON text bound to :data:`IDS_PARAMETER`."""
    return json.dumps(list(ids))


class Connection:
    """The open :mod:`sqlite3` connection (``conn``) and reads of whole rows as dicts."""

    __slots__ = ("conn",)

    def __init__(self, connection: sqlite3.Connection):
        self.conn = connection

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[dict[str, Any]]:
        """The rows ``sql`` selects, each a dict keyed by column name, read lazily."""
        cursor = self.conn.execute(sql, params)
        keys = [column[0] for column in cursor.description]
        return (dict(zip(keys, row)) for row in cursor)


class StoreDatabase:
    """One open connection to a state database and the transaction discipline around it."""

    def __init__(self, connection: sqlite3.Connection, path: Path, *, readonly: bool, run_id: str):
        self.db = Connection(connection)
        self._path = path
        self._readonly = readonly
        self._run_id = run_id
        self._decoded = DecodedRecords()

    @property
    def path(self) -> Path:
        """The ``state.sqlite`` file."""
        return self._path

    @property
    def readonly(self) -> bool:
        """Whether this store refuses writes."""
        return self._readonly

    @property
    def run_id(self) -> str:
        """The id of the run this database belongs to."""
        return self._run_id

    def _select(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return list(self.db.query(sql, params))

    def _iter_select(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[dict[str, Any]]:
        return self.db.query(sql, params)

    def _iter_values(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows as tuples, for hot paths whose SQL names every column it selects."""
        return self.db.conn.execute(sql, params)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; any error rolls it back and leaves the database as it was."""
        if self._readonly:
            raise StoreError(
                "the state database was opened read-only",
                where=str(self._path),
                fix="open it without readonly=True (take the run lock first)",
            )
        connection = self.db.conn
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._write_refused(exc) from exc
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._write_refused(exc) from exc
            raise

    def _write_refused(self, exc: sqlite3.Error) -> StoreError:
        if is_busy(exc):
            return DatabaseBusyError(
                f"run {self._run_id}'s database is locked by another process (SQLite waited its busy "
                "timeout); nothing was changed",
                where=str(self._path),
                fix="wait for the other program writing to state.sqlite to finish (a sqlite3 shell or "
                "a backup tool holding a transaction?), then try again",
            )
        return StoreError(
            f"write refused by SQLite ({exc}); nothing was changed",
            where=str(self._path),
            fix="check the disk and `PRAGMA integrity_check`; report it if it persists",
        )

    def _refuse(self, what: str, fix: str) -> StoreError:
        return StoreError(what, where=f"run {self._run_id} ({self._path})", fix=fix)
