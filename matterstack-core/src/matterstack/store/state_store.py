"""``StateStore``: one run's ``state.sqlite``, opened, migrated and written safely.

Opening never harms a file it refuses: every check that can fail (network filesystem,
not SQLite, truncated, corrupt, from a newer MatterStack, read-only folder) is made by
:mod:`matterstack.store.preflight` before SQLite may write, and a migration that fails rolls
back. Accepted files are switched to WAL with ``synchronous=NORMAL`` and a 5 s busy timeout.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from matterstack.core.records import Run
from matterstack.core.status import RunStatus
from matterstack.core.times import datetime_from_text, datetime_to_text, utc_now
from matterstack.errors import StoreError
from matterstack.store import preflight
from matterstack.store.attempts import AttemptQueries
from matterstack.store.layout import SchemaLayout
from matterstack.store.migrate import migrate, read_version
from matterstack.store.rows import run_from_row, run_values
from matterstack.store.schema import CURRENT_DDL, RUN_COLUMNS, SCHEMA_VERSION, WRITER, WRITER_KEY

if TYPE_CHECKING:  # the history's records load when history is read (a tick seldom does)
    from matterstack.store.history import OperatorContact, RunEvent, RunNote

BUSY_TIMEOUT_SECONDS = 5.0
CONTACT_REFRESH_SECONDS = 1.0
CONNECTION_PRAGMAS = ("PRAGMA temp_store=MEMORY",)
"""Run on every connection. Statements that fire the ``waiting_on`` trigger need a statement
journal; in a temporary file that costs more than the write itself."""
_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


def _side_files(path: Path) -> set[Path]:
    return {Path(f"{path}{suffix}") for suffix in _SIDE_SUFFIXES if Path(f"{path}{suffix}").exists()}


def _connect(path: Path, before: set[Path]) -> sqlite3.Connection:
    """A read-write autocommit connection; on failure, remove the side files it made."""
    connection = None
    try:
        connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
        connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        for pragma in CONNECTION_PRAGMAS:
            connection.execute(pragma)
        return connection
    except sqlite3.Error as exc:
        if connection is not None:
            connection.close()
        for leftover in _side_files(path) - before:
            leftover.unlink(missing_ok=True)
        raise StoreError(
            f"cannot be opened for writing ({exc})",
            where=str(path),
            fix="check that the file and its folder are writable and on a local disk",
        ) from exc


def _enable_wal(connection: sqlite3.Connection, path: Path) -> None:
    mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreError(
            f"SQLite refused WAL mode (journal_mode is {mode})",
            where=str(path),
            fix="keep runs on a local disk",
        )
    connection.execute("PRAGMA synchronous=NORMAL")


def _open_readonly(path: Path) -> sqlite3.Connection:
    connection = preflight.open_readonly(path, BUSY_TIMEOUT_SECONDS)
    for pragma in CONNECTION_PRAGMAS:
        connection.execute(pragma)
    return connection


class StateStore(AttemptQueries):
    """The state database of one run. Create with :meth:`create`, open with :meth:`open`."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path,
        *,
        readonly: bool,
        migrated_from: SchemaLayout | None,
    ) -> None:
        run_ids = [row[0] for row in connection.execute("SELECT run_id FROM runs")]
        if len(run_ids) != 1:
            connection.close()
            raise StoreError(f"holds {len(run_ids)} runs, expected one", where=str(path),
                             fix="point MatterStack at a run folder's state.sqlite")
        super().__init__(connection, path, readonly=readonly, run_id=run_ids[0])
        self._migrated_from = migrated_from
        self._ok_recorded: dict[str, datetime] = {}

    @classmethod
    def create(cls, db_path: Path | str, run: Run) -> StateStore:
        """Create a new database at our current schema holding ``run``; refuse if the file exists."""
        path = Path(db_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        preflight.check_local_disk(path.parent)
        try:
            # Owner only (SQLite gives its -wal and -shm the same mode): it holds the tasks' env values.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            raise StoreError("already exists", where=str(path),
                             fix="open the existing run, or create the new one under another id") from None
        connection = None
        try:
            connection = _connect(path, set())
            _enable_wal(connection, path)
            connection.execute("BEGIN IMMEDIATE")
            for statement in CURRENT_DDL:
                connection.execute(statement)
            connection.executemany(
                "INSERT INTO schema_info (key, value) VALUES (?, ?)",
                [("version", str(SCHEMA_VERSION)), (WRITER_KEY, WRITER)],
            )
            connection.execute(
                f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))})",
                run_values(run),
            )
            connection.execute(
                "INSERT INTO run_events (run_id, from_status, to_status, reason, at) VALUES (?, NULL, ?, ?, ?)",
                (run.run_id, run.status.value, run.status_reason or "run created", datetime_to_text(utc_now())),
            )
            connection.execute("COMMIT")
        except BaseException:
            if connection is not None:
                connection.close()
            for created in {path} | _side_files(path):
                created.unlink(missing_ok=True)
            raise
        return cls(connection, path, readonly=False, migrated_from=None)

    @classmethod
    def open(cls, db_path: Path | str, *, readonly: bool = False) -> StateStore:
        """Open an existing database, migrating it to our current schema first (one transaction).

        With ``readonly`` nothing is ever written: an older file is read through a migrated
        in-memory copy, and writes raise :class:`StoreError`.
        """
        path = Path(db_path)
        preflight.check_local_disk(path)
        layout = preflight.inspect(path).layout
        if readonly:
            connection = _open_readonly(path)
        else:
            preflight.check_writable(path)
            connection = _connect(path, _side_files(path))
        try:
            migrated_from = None
            if not layout.is_current and readonly:
                memory = sqlite3.connect(":memory:", isolation_level=None)
                connection.backup(memory)
                connection.close()
                connection = memory
                migrated_from = migrate(connection, path, keep_original=False)
            elif not layout.is_current:
                migrated_from = migrate(connection, path)
            if not readonly:
                _enable_wal(connection, path)
        except BaseException:
            connection.close()
            raise
        return cls(connection, path, readonly=readonly, migrated_from=migrated_from)

    def close(self) -> None:
        """Close the connection (SQLite checkpoints the WAL and removes ``-wal``/``-shm``)."""
        self.db.conn.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """The schema version the store reads and writes through (always the current one)."""
        return read_version(self.db.conn)

    @property
    def migrated_from(self) -> SchemaLayout | None:
        """The file's older layout when opening migrated it (in memory if read-only)."""
        return self._migrated_from

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``"ok"``, or the problems it found."""
        return "\n".join(str(row[0]) for row in self.db.conn.execute("PRAGMA integrity_check"))

    def get_run(self) -> Run:
        """The run this database belongs to."""
        return run_from_row(self._select(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs")[0])

    def run_status(self) -> RunStatus:
        """The run's status alone (what a tick checks between its phases)."""
        return RunStatus(self.db.conn.execute("SELECT status FROM runs").fetchone()[0])

    def set_run_status(self, status: RunStatus, reason: str) -> None:
        """Change the run's status and record why (no-op if unchanged)."""
        status = RunStatus(status)
        if not reason:
            raise self._refuse(f"no reason given for setting the run {status.value}",
                               "every status change records a reason")
        with self._transaction() as connection:
            old = connection.execute("SELECT status FROM runs WHERE run_id = ?", (self.run_id,)).fetchone()[0]
            if old == status.value:
                return
            connection.execute(
                "UPDATE runs SET status = ?, status_reason = ? WHERE run_id = ?",
                (status.value, reason, self.run_id),
            )
            connection.execute(
                "INSERT INTO run_events (run_id, from_status, to_status, reason, at) VALUES (?, ?, ?, ?, ?)",
                (self.run_id, old, status.value, reason, datetime_to_text(utc_now())),
            )

    def run_events(self) -> list[RunEvent]:
        """Every recorded change of the run's status, oldest first."""
        from matterstack.store.history import RunEvent

        rows = self._select("SELECT from_status, to_status, reason, at FROM run_events ORDER BY id")
        return [
            RunEvent(
                from_status=RunStatus(row["from_status"]) if row["from_status"] is not None else None,
                to_status=RunStatus(row["to_status"]),
                reason=row["reason"],
                at=datetime_from_text(row["at"]),
            )
            for row in rows
        ]

    def record_run_note(self, text: str, at: datetime | None = None) -> int:
        """Keep a note about the run for people (``explain``, the evidence); returns its id.

        A note identical to one kept already is counted on that one (how many times, and the
        last time) instead of adding a row: trouble a tick meets on every round adds nothing.
        """
        from matterstack.store.history import note_from_row, repeated_note_prefix, stored_note_text

        at = at or utc_now()
        prefix = repeated_note_prefix(text).encode()
        with self._transaction() as connection:
            # Compared as bytes: SQLite's text functions stop at a NUL, and a note may hold one.
            kept = connection.execute(
                "SELECT id, text, at FROM run_notes WHERE run_id = ? AND (text = ? OR "
                "substr(CAST(text AS BLOB), 1, ?) = ?) ORDER BY id",
                (self.run_id, text, len(prefix), prefix)).fetchall()
            for note_id, stored, first in kept:
                note = note_from_row(stored, datetime_from_text(first))
                if note.text == text:
                    connection.execute("UPDATE run_notes SET text = ? WHERE id = ?",
                                       (stored_note_text(text, note.count + 1, at), note_id))
                    return note_id
            cursor = connection.execute(
                "INSERT INTO run_notes (run_id, text, at) VALUES (?, ?, ?)",
                (self.run_id, text, datetime_to_text(at)),
            )
        return cursor.lastrowid

    def reword_run_note(self, note_id: int, text: str) -> None:
        """Replace the text of note ``note_id`` (its time stays when it was first recorded):
        how a repeated event is counted on one note instead of adding one per occurrence."""
        with self._transaction() as connection:
            connection.execute("UPDATE run_notes SET text = ? WHERE id = ? AND run_id = ?",
                               (text, note_id, self.run_id))

    def run_notes(self) -> list[RunNote]:
        """Every note, oldest first."""
        from matterstack.store.history import note_from_row

        rows = self._select("SELECT text, at FROM run_notes ORDER BY id")
        return [note_from_row(row["text"], datetime_from_text(row["at"])) for row in rows]

    def record_operator_contact(
        self, operator_key: str, *, ok: bool, at: datetime | None = None, error: str | None = None
    ) -> None:
        """Remember that an operator instance answered (``ok``) or failed with ``error``.

        An answer less than :data:`CONTACT_REFRESH_SECONDS` after the last one this store
        recorded (with no failure between) is not written again: a loop that ticks every
        few milliseconds would otherwise write on every tick.
        """
        moment = at or utc_now()
        last_ok = self._ok_recorded.get(operator_key)
        if ok and last_ok is not None and timedelta(0) <= moment - last_ok < timedelta(seconds=CONTACT_REFRESH_SECONDS):
            return
        when = datetime_to_text(moment)
        with self._transaction() as connection:
            connection.execute(
                "INSERT OR IGNORE INTO operator_contacts (operator_key) VALUES (?)", (operator_key,)
            )
            if ok:
                connection.execute(
                    "UPDATE operator_contacts SET last_ok_at = ? WHERE operator_key = ?", (when, operator_key)
                )
            else:
                connection.execute(
                    "UPDATE operator_contacts SET last_error_at = ?, last_error = ? WHERE operator_key = ?",
                    (when, error or "unknown error", operator_key),
                )
        if ok:
            self._ok_recorded[operator_key] = moment
        else:
            self._ok_recorded.pop(operator_key, None)

    def operator_contacts(self) -> dict[str, OperatorContact]:
        """The last contact with each operator instance, by key."""
        from matterstack.store.history import OperatorContact

        rows = self._select("SELECT * FROM operator_contacts ORDER BY operator_key")
        return {
            row["operator_key"]: OperatorContact(
                operator_key=row["operator_key"],
                last_ok_at=datetime_from_text(row["last_ok_at"]) if row["last_ok_at"] else None,
                last_error_at=datetime_from_text(row["last_error_at"]) if row["last_error_at"] else None,
                last_error=row["last_error"],
            )
            for row in rows
        }
