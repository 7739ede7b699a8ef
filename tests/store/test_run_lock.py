"""``run.lock``: one writer per run across processes; a second one gets exit code 3."""

from __future__ import annotations

import subprocess
import sys

import pytest

from matterstack.errors import RunLockedError
from matterstack.store import RunLock

RUN_ID = "20270101_000000_0000abcd"

HOLDER = (
    "import sys\n"
    "from matterstack.store import RunLock\n"
    "lock = RunLock(sys.argv[1])\n"
    "lock.acquire()\n"
    "print('held', flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.fixture
def holder(tmp_path):
    """A second, real process holding the run lock until killed."""
    run_dir = tmp_path / RUN_ID
    run_dir.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(run_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    yield run_dir, process
    process.kill()
    process.wait()


def test_lock_held_by_another_process_raises_run_locked_with_exit_code_3(holder):
    run_dir, _ = holder

    with pytest.raises(RunLockedError) as error:
        with RunLock(run_dir):
            pytest.fail("entered a lock another process holds")

    assert error.value.exit_code == 3
    assert f"run {RUN_ID} is being stepped by another process" in str(error.value)
    assert "\n" not in str(error.value)


def test_lock_is_free_again_when_the_holder_is_killed(holder):
    run_dir, process = holder

    process.kill()
    process.wait()

    with RunLock(run_dir) as lock:
        assert lock.held
    assert not lock.held


def test_second_lock_in_the_same_process_is_refused_until_released(tmp_path):
    first = RunLock(tmp_path)
    first.acquire()
    try:
        with pytest.raises(RunLockedError):
            RunLock(tmp_path).acquire()
    finally:
        first.release()

    with RunLock(tmp_path):
        assert (tmp_path / "run.lock").exists()


def test_existing_legacy_lock_file_is_reused(tmp_path):
    (tmp_path / "run.lock").write_bytes(b"")

    with RunLock(tmp_path):
        pass

    assert (tmp_path / "run.lock").read_bytes() == b""
