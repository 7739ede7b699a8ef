"""Files the store must refuse: one-line StoreError, the file byte-identical, no side files."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from store_helpers import copy_legacy_db, new_run, sha256, side_files

from matterstack.errors import StoreError
from matterstack.store import StateStore, preflight
from matterstack.store.layout import ORIGINAL, SchemaLayout
from matterstack.store.schema import SCHEMA_VERSION

V3_RUN = "20261124_142443_89d0213d"
V4_ORIGINAL_RUN = "20261207_021509_d1bee641"


def assert_refused_untouched(path: Path, *words: str, readonly: bool = False) -> str:
    """Open ``path``; expect a one-line StoreError naming it and ``words``; file unchanged."""
    before = sha256(path)
    with pytest.raises(StoreError) as error:
        StateStore.open(path, readonly=readonly)
    message = str(error.value)
    assert "\n" not in message
    assert str(path) in message and "fix:" in message
    for word in words:
        assert word in message
    assert sha256(path) == before
    assert side_files(path) == []
    return message


def set_version(path: Path, version: str) -> None:
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("UPDATE schema_info SET value = ? WHERE key = 'version'", (version,))
    connection.close()


@pytest.mark.parametrize("readonly", [False, True])
def test_file_from_a_newer_matterstack_is_refused(tmp_path, readonly):
    path = tmp_path / "run" / "state.sqlite"
    StateStore.create(path, new_run()).close()
    set_version(path, str(SCHEMA_VERSION + 1))

    assert_refused_untouched(path, "newer MatterStack", f"v{SCHEMA_VERSION + 1}", "upgrade", readonly=readonly)


@pytest.mark.parametrize("readonly", [False, True])
def test_file_from_a_newer_original_matterstack_is_refused(tmp_path, readonly):
    # given a file of the original's layout (no writer mark) numbered past its newest schema
    path = copy_legacy_db(V4_ORIGINAL_RUN, tmp_path)
    set_version(path, "5")

    assert_refused_untouched(path, "no writer mark", "newer release of the original MatterStack", readonly=readonly)


@pytest.mark.parametrize(
    ("run_id", "change", "words"),
    [
        # the original's "4" holding some of our tables: somebody's migration stopped half-way
        (V4_ORIGINAL_RUN, "CREATE TABLE run_notes (x)", ("half-migrated", "run_notes")),
        # marked as ours but without our tables
        (V4_ORIGINAL_RUN, "INSERT INTO schema_info VALUES ('writer', 'matterstack-core')", ("half-migrated", "missing")),
        # an original v3 without the column every v3 has
        (V3_RUN, "ALTER TABLE task_attempts DROP COLUMN operator_key", ("lacks task_attempts.operator_key",)),
        # another program's mark
        (V3_RUN, "INSERT INTO schema_info VALUES ('writer', 'othertool')", ("'othertool'", "not by MatterStack")),
    ],
)
def test_half_migrated_or_foreign_layouts_are_refused(tmp_path, run_id, change, words):
    path = copy_legacy_db(run_id, tmp_path)
    with sqlite3.connect(path) as connection:
        connection.execute(change)
    connection.close()

    message = assert_refused_untouched(path, *words)

    assert "a copy of the file" not in message
    assert list(path.parent.glob("*.bak")) == []


def test_newer_file_in_wal_mode_is_refused_without_creating_wal_files(tmp_path):
    # given a v4 file of ours (WAL mode) whose version says 7
    path = tmp_path / "run" / "state.sqlite"
    StateStore.create(path, new_run()).close()
    set_version(path, "7")

    assert_refused_untouched(path, "v7")


def test_text_file_is_not_a_database(tmp_path):
    path = tmp_path / "state.sqlite"
    path.write_text("these are my notes, not a database\n" * 20)

    assert_refused_untouched(path, "not a SQLite database")


def test_empty_file_is_not_a_database(tmp_path):
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"")

    assert_refused_untouched(path, "not a SQLite database")


def test_truncated_database_is_refused(tmp_path):
    path = copy_legacy_db(V3_RUN, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    assert_refused_untouched(path, "truncated")


def test_database_with_a_garbled_schema_page_is_refused(tmp_path):
    path = copy_legacy_db(V3_RUN, tmp_path)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    path.write_bytes(bytes(data))

    assert_refused_untouched(path, "corrupt")


def test_sqlite_database_of_another_program_is_refused(tmp_path):
    path = tmp_path / "state.sqlite"
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    connection.close()

    assert_refused_untouched(path, "not a MatterStack state database")


def test_missing_file_is_refused_and_not_created(tmp_path):
    path = tmp_path / "state.sqlite"

    with pytest.raises(StoreError, match="no state database"):
        StateStore.open(path)
    assert not path.exists()


def test_create_refuses_an_existing_file(tmp_path):
    path = copy_legacy_db(V3_RUN, tmp_path)
    before = sha256(path)

    with pytest.raises(StoreError, match="already exists"):
        StateStore.create(path, new_run())
    assert sha256(path) == before


def test_filesystem_type_takes_the_longest_mount_point():
    mounts = textwrap.dedent(
        """\
        /dev/vda / ext4 rw 0 0
        server:/export /mnt/shared nfs4 rw 0 0
        /dev/vdb /mnt/shared/local\\040disk ext4 rw 0 0
        """
    )

    assert preflight.filesystem_type(Path("/mnt/shared/runs/x/state.sqlite"), mounts) == "nfs4"
    assert preflight.filesystem_type(Path("/mnt/shared/local disk/state.sqlite"), mounts) == "ext4"
    assert preflight.filesystem_type(Path("/mnt/sharedother/state.sqlite"), mounts) == "ext4"


@pytest.mark.parametrize("fs_type", ["nfs", "nfs4", "cifs", "fuse.sshfs", "9p", "lustre"])
def test_database_on_a_network_filesystem_is_refused(tmp_path, monkeypatch, fs_type):
    # given a mount table that puts tmp_path on a network filesystem
    path = copy_legacy_db(V3_RUN, tmp_path)
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\nserver:/export {tmp_path} {fs_type} rw 0 0\n")
    monkeypatch.setattr(preflight, "MOUNTS_FILE", mounts)

    message = assert_refused_untouched(path, "network filesystem", fs_type, "local disk")
    assert "WAL" in message
    with pytest.raises(StoreError, match="network filesystem"):
        StateStore.create(tmp_path / "new" / "state.sqlite", new_run())
    assert not (tmp_path / "new" / "state.sqlite").exists()


@pytest.fixture
def read_only_run_dir():
    """A run folder that the process under test may read but not write to."""
    base = Path(tempfile.mkdtemp(prefix="ms-readonly-"))
    run_dir = base / V3_RUN
    run_dir.mkdir()
    yield run_dir
    run_dir.chmod(0o755)
    shutil.rmtree(base)


def run_in_read_only_folder(path: Path, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a real process for which ``path``'s folder is read-only.

    Root ignores permission bits, so as root the process runs without the capabilities
    that bypass them (still uid 0, so it can reach the interpreter under /root).
    """
    path.parent.chmod(0o555)
    command = [sys.executable, "-c", code, str(path)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv is not None, "running as root needs setpriv (util-linux) to drop DAC override"
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_database_in_a_read_only_folder_is_refused_for_writing(read_only_run_dir):
    path = copy_legacy_db(V3_RUN, read_only_run_dir.parent)
    before = sha256(path)

    result = run_in_read_only_folder(
        path,
        "import sys\nfrom matterstack.errors import StoreError\nfrom matterstack.store import StateStore\n"
        "try:\n    StateStore.open(sys.argv[1])\nexcept StoreError as e:\n    print(e)\n    sys.exit(2)\n",
    )

    assert result.returncode == 2, result.stderr
    (line,) = result.stdout.splitlines()
    assert str(path) in line and "read-only folder" in line
    assert sha256(path) == before
    assert side_files(path) == []


def test_database_in_a_read_only_folder_can_still_be_read(read_only_run_dir):
    path = copy_legacy_db(V3_RUN, read_only_run_dir.parent)
    before = sha256(path)

    result = run_in_read_only_folder(
        path,
        "import sys\nfrom matterstack.store import StateStore\n"
        "with StateStore.open(sys.argv[1], readonly=True) as s:\n"
        "    print(len(list(s.iter_tasks())), s.migrated_from)\n",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["13", "MatterStack", "0.2.x", "schema", "v3"]
    assert sha256(path) == before
    assert side_files(path) == []


def test_readonly_open_of_an_old_file_reads_migrated_data_and_writes_nothing(tmp_path):
    path = copy_legacy_db("20261124_142052_f5c6a49b", tmp_path)
    before = sha256(path)

    with StateStore.open(path, readonly=True) as store:
        (attempt,) = store.attempts_for_task("prep_lattice")
        with pytest.raises(StoreError, match="read-only"):
            store.set_task_statuses([("final_report", "PENDING", "try")])
        assert (store.migrated_from, store.schema_version) == (SchemaLayout(ORIGINAL, 1), SCHEMA_VERSION)

    assert attempt.operator_key == "hpc.default"
    assert sha256(path) == before
    assert side_files(path) == []


def test_readonly_open_of_a_current_file_leaves_no_trace(tmp_path):
    path = tmp_path / "run" / "state.sqlite"
    StateStore.create(path, new_run()).close()
    before = sha256(path)

    with StateStore.open(path, readonly=True) as store:
        assert store.get_run() == new_run()
        with pytest.raises(StoreError, match="read-only"):
            store.set_run_status("RUNNING", "no")

    assert sha256(path) == before
    assert side_files(path) == []
