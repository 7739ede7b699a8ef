"""``run.lock``: one writer per run, across processes.

The lock is a non-blocking ``flock`` on ``run.lock`` in the run folder (the same empty file
MatterStack 0.2.x kept there). The kernel drops it when the holder exits, even on SIGKILL,
so a crashed ``step`` never leaves a run locked.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from matterstack.errors import RunLockedError, StoreError

LOCK_FILE_NAME = "run.lock"


class RunLock:
    """Exclusive, non-blocking lock of a run folder; use as a context manager.

    Entering raises :class:`RunLockedError` (exit code 3) when another process holds it.
    """

    def __init__(self, run_dir: Path | str) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE_NAME
        self._fd: int | None = None

    @property
    def run_id(self) -> str:
        """The run's id: the name of its folder."""
        return self.run_dir.name

    @property
    def held(self) -> bool:
        """Whether this object currently holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise :class:`RunLockedError` at once."""
        if self._fd is not None:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StoreError(
                f"cannot open the run lock ({exc.strerror})",
                where=str(self.path),
                fix="check that the run folder exists and is writable",
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunLockedError(
                f"run {self.run_id} is being stepped by another process",
                where=str(self.path),
                fix="wait for the other `matterstack step`/`loop` to finish, then try again",
            ) from None
        except OSError as exc:
            os.close(fd)
            raise StoreError(
                f"cannot lock the run ({exc.strerror})",
                where=str(self.path),
                fix="keep runs on a local disk that supports file locks",
            ) from exc
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (closing the file releases the ``flock``)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
