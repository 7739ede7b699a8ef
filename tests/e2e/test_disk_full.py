"""A run on a disk that fills up: when a checkpoint cannot grow ``state.sqlite``, the main
file is left shorter than its header says and the ``-wal`` holds the rest. SQLite reads such a
file whole, so every command keeps reading the run, and once there is space again the next
command's checkpoint makes the file whole. (tests/store/test_short_file_with_wal.py makes the same state without a mount.)"""

from __future__ import annotations

import json
from pathlib import Path

from e2e_kit import Project, ok, read_db
from small_disk import resize, small_disk

HUNDRED_TASKS = """
    from matterstack import Campaign, Task, Workflow

    class Hundred(Campaign):
        def plan(self, state):
            if state is not None:
                return None
            return Workflow([Task(task_id=f"t{k:03d}", command="true") for k in range(100)])

        def analyze(self, state, results):
            return {"finished": len(results)}

    def get_campaign():
        return Hundred()
"""


def header_bytes(path: Path) -> int:
    header = path.read_bytes()[:100]
    return int.from_bytes(header[16:18], "big") * int.from_bytes(header[28:32], "big")


def test_a_run_whose_disk_filled_during_a_checkpoint_is_still_read_and_finishes_once_space_is_freed(
        tmp_path, installed_matterstack):
    with small_disk(tmp_path / "disk", "2m") as disk:
        # given a run of 100 tasks on a 2 MB disk that a filler file and the run fill up
        project = Project(disk / "project", installed_matterstack)
        project.add_workspace("hundred", HUNDRED_TASKS)
        run_id = project.init("hundred")
        filler = disk / "filler"
        filler.write_bytes(b"\0" * 600_000)
        project.matterstack("loop", run_id, "--interval", "0.05", "--max-ticks", "30")
        db = project.run_dir(run_id) / "state.sqlite"
        assert db.stat().st_size < header_bytes(db) and Path(f"{db}-wal").stat().st_size > 0, \
            "the disk should have filled during a checkpoint"

        # when the run is looked at while the disk is still full
        status = project.matterstack("status", run_id, "--json")

        # then SQLite read the rest from the -wal: every task is there
        ok(status)
        assert sum(json.loads(status.stdout)["tasks"].values()) == 100

        # and when space is freed, the run is stepped on and its file is whole again
        filler.unlink()
        resize(disk, "16m")
        ok(project.matterstack("step", run_id))
        assert db.stat().st_size == header_bytes(db) and not Path(f"{db}-wal").exists()
        with read_db(db) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert connection.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] == 100
            assert connection.execute("SELECT COUNT(DISTINCT task_id) FROM task_attempts").fetchone()[0] == 100
