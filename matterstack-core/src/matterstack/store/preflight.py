"""Checks made before SQLite is allowed to write to a state database file.

Opening a file read-write can leave ``-wal``/``-shm``/``-journal`` files behind or rewrite
its header. Everything that can be refused (a network filesystem, a file that is not a
SQLite database, a truncated one, one from a newer MatterStack, a read-only directory) is
therefore decided here, from the raw header and an ``immutable`` read-only connection that
writes nothing, so a refused file stays byte-identical. A file shorter than its header says
is refused only if SQLite, reading its ``-wal`` too, cannot read it whole (a full disk
leaves such a file, with the rest in the ``-wal``).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import NamedTuple

from matterstack.errors import StoreError
from matterstack.store.layout import LayoutError, SchemaLayout, read_layout

MOUNTS_FILE = Path("/proc/self/mounts")
"""Where the mount table is read from (Linux)."""

NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "fuse.sshfs",
        "sshfs",
        "9p",
        "ceph",
        "fuse.ceph",
        "glusterfs",
        "fuse.glusterfs",
        "lustre",
        "afs",
        "davfs",
        "fuse.davfs2",
    }
)
"""Filesystem types on which SQLite's WAL mode (shared memory, locks) does not work."""

SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100


class DatabaseFile(NamedTuple):
    """What the header and ``schema_info`` of an existing state database say."""

    path: Path
    layout: SchemaLayout


def _unescape_mount_point(text: str) -> str:
    # /proc/self/mounts writes space, tab, newline and backslash as octal escapes.
    for escaped, plain in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(escaped, plain)
    return text


def filesystem_type(path: Path, mounts: str) -> str | None:
    """The type of the filesystem holding ``path``: the longest mount point above it."""
    target = os.path.realpath(path)
    best, best_type = "", None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = _unescape_mount_point(fields[1])
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, fields[2]
    return best_type


def check_local_disk(path: Path) -> None:
    """Refuse a database on a network filesystem: WAL needs shared memory and real locks."""
    try:
        mounts = MOUNTS_FILE.read_text()
    except OSError:
        return
    fs_type = filesystem_type(path, mounts)
    if fs_type in NETWORK_FILESYSTEMS:
        raise StoreError(
            f"the state database is on a network filesystem ({fs_type}); "
            "SQLite's WAL mode needs a local disk",
            where=str(path),
            fix="put the workspace's runs/ folder on a local disk (not NFS, SMB, sshfs, ...)",
        )


def _read_header(path: Path) -> bytes | None:
    """The file's 100-byte SQLite header, or None if it is not a SQLite database."""
    with path.open("rb") as handle:
        header = handle.read(_HEADER_SIZE)
    if len(header) < _HEADER_SIZE or not header.startswith(SQLITE_MAGIC):
        return None
    return header


def _shortfall(path: Path, header: bytes) -> str | None:
    """``"<size> of <expected> bytes"`` when the file is shorter than its header says, else None.

    A short file is not necessarily lost: when the disk fills up during a checkpoint, SQLite
    has already written page 1 (with the new page count) from the ``-wal``, cannot extend
    the file, and keeps the ``-wal``, which still holds every page. So a shortfall is only a
    question for SQLite (:func:`_check_readable`), never a refusal by itself.
    """
    size = path.stat().st_size
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    page_count = int.from_bytes(header[28:32], "big")
    # The in-header page count is only trustworthy when its "valid-for" stamp matches.
    if header[24:28] == header[92:96] and page_count and size < page_count * page_size:
        return f"{size} of {page_count * page_size} bytes"
    return None


def _truncated(path: Path, shortfall: str, detail: str) -> StoreError:
    wal = Path(f"{path}-wal")
    if wal.exists():
        return StoreError(
            f"is truncated ({shortfall}) and {wal.name} does not hold the missing pages ({detail})",
            where=str(path),
            fix=f"restore {path.name} from a backup; keep this file and its {wal.name} until then",
        )
    return StoreError(
        f"is truncated ({shortfall}) and no {wal.name} beside it holds the missing pages ({detail})",
        where=str(path),
        fix=f"if {wal.name} was moved away, put it back beside it; otherwise restore {path.name} from a backup",
    )


def _check_readable(connection: sqlite3.Connection, path: Path, shortfall: str) -> None:
    """Let SQLite decide whether a short file is whole: it reads the pages the file lacks from
    the ``-wal`` if they are there. Costs a ``quick_check``, made only for a short file."""
    try:
        problems = [str(row[0]) for row in connection.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        raise _truncated(path, shortfall, str(exc)) from exc
    if problems != ["ok"]:
        raise _truncated(path, shortfall, f"quick_check: {problems[0]}")


def read_only_uri(path: Path) -> str:
    """A URI opening ``path`` without creating any side file.

    ``immutable`` skips locking and the WAL index, so it is used only when no ``-wal`` file
    exists (nothing is pending); otherwise a plain read-only open reads the WAL too.
    """
    wal = Path(f"{path}-wal")
    mode = "mode=ro" if wal.exists() else "immutable=1"
    return f"{path.resolve().as_uri()}?{mode}"


def open_readonly(path: Path, timeout: float) -> sqlite3.Connection:
    """An autocommit connection to ``path`` that never writes (``timeout``: SQLite's busy
    timeout in seconds)."""
    # A writable folder lets a read-only reader share the WAL properly (and clean up after
    # itself); otherwise nobody can be writing, so an immutable open is exact.
    if os.access(path.parent, os.W_OK) and os.access(path, os.W_OK):
        connection = sqlite3.connect(path, isolation_level=None, timeout=timeout)
        connection.execute("PRAGMA query_only=1")
        return connection
    return sqlite3.connect(read_only_uri(path), uri=True, isolation_level=None, timeout=timeout)


def inspect(path: Path) -> DatabaseFile:
    """Read who wrote an existing state database and at which schema, refusing what we cannot open."""
    if not path.is_file():
        raise StoreError(
            "no state database here" if not path.exists() else "is not a file",
            where=str(path),
            fix="check the run id or path; `matterstack init` creates a run",
        )
    header = _read_header(path)
    if header is None:
        raise StoreError(
            "is not a SQLite database, so it is not a MatterStack state database",
            where=str(path),
            fix="restore state.sqlite from a backup or start a new run",
        )
    shortfall = _shortfall(path, header)
    try:
        connection = sqlite3.connect(read_only_uri(path), uri=True)
        try:
            if shortfall is not None:
                _check_readable(connection, path, shortfall)
            layout = read_layout(connection)
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        if shortfall is not None:
            raise _truncated(path, shortfall, str(exc)) from exc
        raise StoreError(
            f"is corrupt ({exc})",
            where=str(path),
            fix="restore state.sqlite from a backup or start a new run",
        ) from exc
    except LayoutError as exc:
        raise StoreError(str(exc), where=str(path), fix=exc.fix) from exc
    return DatabaseFile(path=path, layout=layout)


READ_ONLY_COMMANDS = "status, explain, attempts, monitor, export-evidence --output DIR"
"""The commands that work on a run this process may not write."""


def can_write(path: Path) -> bool:
    """Whether SQLite could write ``path``: the file, and its folder (for ``-wal``/``-shm``)."""
    return os.access(path.parent, os.W_OK | os.X_OK) and os.access(path, os.W_OK)


def check_writable(path: Path) -> None:
    """Refuse a file SQLite could not write, or whose folder cannot hold ``-wal``/``-shm``."""
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StoreError(
            "is in a read-only folder (SQLite needs to create state.sqlite-wal and -shm beside it)",
            where=str(path),
            fix=f"make the run folder writable, or use a read-only command ({READ_ONLY_COMMANDS})",
        )
    if not os.access(path, os.W_OK):
        raise StoreError(
            "is read-only",
            where=str(path),
            fix=f"make the file writable, or use a read-only command ({READ_ONLY_COMMANDS})",
        )
