"""A state database whose checkpoint hit a full disk: the main file is shorter than its
header says, and its ``-wal`` holds the pages it lacks. SQLite reads it whole, so the store
opens it; only a short file whose missing pages are nowhere is refused.

The full disk is made here with a file size limit (``RLIMIT_FSIZE``) in a real process, so
these tests run anywhere; tests/e2e/test_disk_full.py fills a real tmpfs where mounting one
is allowed. Both make the same state with the same SQLite operations: a checkpoint copies
the ``-wal``'s pages into the main file in page order, page 1 (holding the new page count)
first, and stops at the first page it cannot write past the file's end.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from store_helpers import new_run, sha256

from matterstack.errors import StoreError
from matterstack.store import StateStore

TASKS = 100

CLOSE_ON_A_FULL_DISK = f"""
import resource, signal, sys
from matterstack.core.workflow import Task
from matterstack.store import StateStore

store = StateStore.open(sys.argv[1])
store.add_tasks([Task(task_id=f"t{{k:03d}}", command="true") for k in range({TASKS})])
# The disk is full from here on: nothing may grow past its present size (a write that would
# fails with EFBIG, as with ENOSPC, rather than killing the process with SIGXFSZ).
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
size = max(p.stat().st_size for p in store.path.parent.iterdir())
resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))
store.close()  # the last connection's close checkpoints the -wal into the main file
"""


def header_bytes(path: Path) -> int:
    """The size the header of ``path`` says the file has (page size x page count)."""
    header = path.read_bytes()[:100]
    return int.from_bytes(header[16:18], "big") * int.from_bytes(header[28:32], "big")


def disk_full_during_checkpoint(tmp_path: Path) -> Path:
    """A run of TASKS tasks written by a real process whose closing checkpoint could not grow
    the main file: the state ENOSPC during a checkpoint leaves."""
    path = tmp_path / "run" / "state.sqlite"
    StateStore.create(path, new_run()).close()
    size = path.stat().st_size
    result = subprocess.run([sys.executable, "-c", CLOSE_ON_A_FULL_DISK, str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert path.stat().st_size == size < header_bytes(path), "the checkpoint should have stopped at the limit"
    assert Path(f"{path}-wal").stat().st_size > 0
    return path


def test_a_short_file_whose_wal_holds_the_rest_opens_read_only_with_every_task(tmp_path):
    # given a run whose checkpoint hit a full disk (made with a file size limit)
    path = disk_full_during_checkpoint(tmp_path)

    # when it is opened read-only
    with StateStore.open(path, readonly=True) as store:
        tasks = list(store.iter_tasks())
        check = store.integrity_check()

    # then SQLite read the missing pages from the -wal
    assert len(tasks) == TASKS and check == "ok"


def test_a_short_file_whose_wal_holds_the_rest_opens_for_writing_and_is_whole_again(tmp_path):
    # given a run whose checkpoint hit a full disk, and space again
    path = disk_full_during_checkpoint(tmp_path)

    # when a command opens it for writing and closes it
    with StateStore.open(path) as store:
        store.record_run_note("space freed")
        assert len(list(store.iter_tasks())) == TASKS

    # then the close's checkpoint grew the file to what its header says
    assert path.stat().st_size == header_bytes(path)
    with StateStore.open(path, readonly=True) as store:
        assert store.integrity_check() == "ok" and [n.text for n in store.run_notes()] == ["space freed"]


def test_a_short_file_without_its_wal_is_refused_naming_the_missing_wal(tmp_path):
    # given the same state, with the -wal moved away
    path = disk_full_during_checkpoint(tmp_path)
    wal = Path(f"{path}-wal")
    wal.rename(tmp_path / "moved-away-wal")
    Path(f"{path}-shm").unlink(missing_ok=True)
    before = sha256(path)

    # when
    with pytest.raises(StoreError) as refused:
        StateStore.open(path)

    # then
    message = refused.value.one_line()
    assert "is truncated" in message and "no state.sqlite-wal beside it holds the missing pages" in message
    assert "put it back beside it" in message and "start a new run" not in message
    assert sha256(path) == before and not wal.exists()
