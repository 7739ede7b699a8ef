"""Before its first change, a file MatterStack 0.2.x wrote is copied beside itself, whole."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from store_helpers import LEGACY_ROOT, copy_legacy_db, expected_for, sha256

from matterstack.store import StateStore
from matterstack.store.layout import read_layout


def fixture_file(run_id: str):
    return LEGACY_ROOT / expected_for(run_id)["fixture"] / "state.sqlite"


def copy_of(path):
    (copy,) = path.parent.glob("state.sqlite.0.2.x-v*.bak")
    return copy


def test_migrating_keeps_the_file_as_the_original_wrote_it(legacy_run_id, tmp_path):
    # given a copy of a run the original wrote
    path = copy_legacy_db(legacy_run_id, tmp_path)
    version = expected_for(legacy_run_id)["schema_version"]

    # when a command opens it (and so migrates it)
    StateStore.open(path).close()

    # then the original's bytes sit beside it, named after its schema, and still read as that schema
    copy = copy_of(path)
    assert copy.name == f"state.sqlite.0.2.x-v{version}.bak"
    assert sha256(copy) == sha256(fixture_file(legacy_run_id))
    with sqlite3.connect(f"{copy.as_uri()}?immutable=1", uri=True) as connection:
        assert str(read_layout(connection)) == f"MatterStack 0.2.x schema v{version}"


def test_later_opens_leave_the_copy_alone(tmp_path):
    path = copy_legacy_db("20261207_021509_d1bee641", tmp_path)
    StateStore.open(path).close()
    copy = copy_of(path)
    before = (sha256(copy), copy.stat().st_mtime_ns)

    StateStore.open(path).close()

    assert (sha256(copy), copy.stat().st_mtime_ns) == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.sqlite", copy.name]


def test_reading_an_old_file_makes_no_copy(tmp_path):
    path = copy_legacy_db("20261124_142443_89d0213d", tmp_path)

    with StateStore.open(path, readonly=True) as store:
        assert store.migrated_from is not None

    assert sorted(p.name for p in path.parent.iterdir()) == ["state.sqlite"]


def test_no_room_for_the_copy_refuses_and_changes_nothing(tmp_path):
    # given a process that may not write a file as large as the database (EFBIG, the same
    # refusal a full disk gives: nothing can be written)
    path = copy_legacy_db("20261207_021432_90261834", tmp_path)
    before = sha256(path)
    script = textwrap.dedent(
        """
        import resource, signal, sys
        from matterstack.errors import StoreError
        from matterstack.store import StateStore
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), resource.RLIM_INFINITY))
        try:
            StateStore.open(sys.argv[1])
        except StoreError as error:
            print(error)
            sys.exit(2)
        """
    )

    result = subprocess.run([sys.executable, "-c", script, str(path), str(path.stat().st_size // 2)],
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 2, result.stderr
    (line,) = result.stdout.splitlines()
    assert "could not keep a copy" in line and "nothing was changed" in line and "free disk space" in line
    assert sha256(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.sqlite"]


MIGRATE_ON_CUE = textwrap.dedent(
    """
    import sys
    from matterstack.store import StateStore
    print("ready", flush=True)
    sys.stdin.readline()
    StateStore.open(sys.argv[1]).close()
    print("done", flush=True)
    """
)


def migrate_in_child(path, delay: float | None) -> bool:
    """Migrate ``path`` in a child process, SIGKILLed ``delay`` s after it starts opening the
    file (never, when None); True when the child finished before the kill."""
    child = subprocess.Popen([sys.executable, "-c", MIGRATE_ON_CUE, str(path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    child.stdin.write("go\n")
    child.stdin.flush()
    if delay is None:
        finished = child.wait(timeout=60) == 0
    else:
        try:
            child.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
        finished = child.wait(timeout=60) == 0
    child.stdout.close()
    child.stdin.close()
    return finished


def rows(path) -> dict:
    with sqlite3.connect(path) as connection:
        return {
            table: sorted(connection.execute(f"SELECT * FROM {table}"), key=repr)
            for table in ("runs", "external_runs")
        }


@pytest.mark.parametrize("kills", [pytest.param(30, id="30-kills"), pytest.param(300, id="300-kills", marks=pytest.mark.soak)])
def test_a_migration_killed_at_any_moment_leaves_the_original_or_the_migrated_file(tmp_path, kills):
    # given a 0.2.4 file (the longest migration: every step) and how long migrating it takes
    run_id = "20261124_142113_28d86a26"
    original = fixture_file(run_id)
    timing = tmp_path / "timing" / "state.sqlite"
    timing.parent.mkdir()
    shutil.copyfile(original, timing)
    started = time.perf_counter()
    assert migrate_in_child(timing, None)
    span = time.perf_counter() - started
    expected_rows = rows(original)
    outcomes = {"original": 0, "migrated": 0}

    for kill in range(kills):
        path = tmp_path / f"kill{kill % 3}" / "state.sqlite"
        if kill < 3 or outcomes_of(path) == "migrated":
            shutil.rmtree(path.parent, ignore_errors=True)
            path.parent.mkdir()
            shutil.copyfile(original, path)

        # when a process migrating it is killed at a random moment
        finished = migrate_in_child(path, span * (kill % 10) / 8)

        # then the file is whole and either still the original's or fully migrated, and a copy
        # beside it, if any, is byte for byte the original's
        state = outcomes_of(path)
        outcomes[state] += 1
        assert rows(path) == expected_rows
        assert state == "migrated" or not finished
        for copy in path.parent.glob("*.bak"):
            assert sha256(copy) == sha256(original)

    # and the next command finishes the job
    for folder in tmp_path.glob("kill*"):
        with StateStore.open(folder / "state.sqlite") as store:
            assert len(list(store.iter_tasks())) == len(expected_for(run_id)["tasks"])
        assert sha256(copy_of(folder / "state.sqlite")) == sha256(original)
        assert list(folder.glob(".*.tmp")) == []  # a copy half-made by a killed process is gone
    assert outcomes["original"] > 0 and outcomes["migrated"] > 0, outcomes


def outcomes_of(path) -> str:
    if not path.exists():
        return "absent"
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        layout = read_layout(connection)
    connection.close()
    return "original" if layout.is_original else "migrated"
