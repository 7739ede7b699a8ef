"""Writing a file that a person or another process may read at any moment.

The content goes to a hidden temporary file beside the target (``.<name>.<hex>.tmp``), is
flushed to disk, then renamed over the target, so a reader sees the old file or the new
one, never half of one. The file gets the process's usual permissions (umask), so a lab or
group account sharing the folder can read it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8), making its folders."""
    with atomic_file(path) as out:
        out.write(data.encode() if isinstance(data, str) else data)


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """``with atomic_file(path) as out:`` what is written to ``out`` replaces ``path`` when the
    block ends, and is thrown away if it raises (for content written piece by piece, such as
    the evidence bundle of a run of a million tasks, never held in memory whole)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
