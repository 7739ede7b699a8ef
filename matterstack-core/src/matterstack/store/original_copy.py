"""The copy of a state database as MatterStack 0.2.x wrote it, kept beside it before the
first change: ``state.sqlite.0.2.x-v<N>.bak``.

The copy is taken inside the migration's write transaction, before its first write: the
original wrote in rollback-journal mode, and holding the write lock means a hot journal has
already been rolled back and nobody else can change the file, so its bytes are consistent.
(A file already in WAL mode is copied through SQLite's backup API instead, which includes
what the ``-wal`` holds.) The copy is written to a temporary name, flushed, then linked into
place, so a crash leaves either no copy or a whole one (and at most a temporary file, removed
by the next migration), and an existing copy is never replaced.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from matterstack.store.layout import SchemaLayout


def original_copy_path(path: Path, layout: SchemaLayout) -> Path:
    """Where the copy of ``path`` made before migrating it from ``layout`` lives."""
    return path.with_name(f"{path.name}.0.2.x-v{layout.version}.bak")


def keep_original_copy(connection: sqlite3.Connection, path: Path, layout: SchemaLayout) -> Path:
    """Copy the file behind ``connection`` (holding its write lock) to
    :func:`original_copy_path`, unless a copy is already there; return the copy's path."""
    target = original_copy_path(path, layout)
    # Holding the write lock, no other process is copying: a temporary copy left here was
    # left by one killed before it could link or remove it.
    for stale in path.parent.glob(f".{target.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    if target.exists():
        return target
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        mode = str(connection.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if mode == "wal":
            _backup_pages(path, temporary)
        else:
            shutil.copyfile(path, temporary)
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        try:
            os.link(temporary, target)
        except FileExistsError:
            pass
        _fsync_folder(path.parent)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def _backup_pages(path: Path, temporary: Path) -> None:
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(temporary)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
