"""Another process holding a write transaction on a run's ``state.sqlite`` (a ``sqlite3``
shell, a backup tool) is an outage, not a failure: ``step`` and ``pause`` exit 3 with one line
and change nothing, ``loop`` says so once, waits, and goes on when the database is free."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from e2e_kit import TWO_TASKS, assert_one_line_error, row_counts

ONE_SLOW_TASK = """
    from matterstack import Campaign, Task, Workflow

    class Slow(Campaign):
        def plan(self, state):
            if state is not None:
                return None
            wf = Workflow()
            wf.add_task(Task(task_id="slow", command="sleep 2"))
            wf.add_task(Task(task_id="after", command="true", dependencies={"slow"}))
            return wf

        def analyze(self, state, results):
            return {"done": sorted(results)}

    def get_campaign():
        return Slow()
"""
BUSY_NOTE = "database is locked by another process"


class WriteTransactionHolder:
    """Another process holding ``BEGIN IMMEDIATE`` on a database until :meth:`release`."""

    _SCRIPT = (
        "import sqlite3, sys\n"
        "connection = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "connection.execute('BEGIN IMMEDIATE')\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"
        "connection.execute('COMMIT')\n"
    )

    def __init__(self, db: Path):
        self.process = subprocess.Popen([sys.executable, "-c", self._SCRIPT, str(db)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "held"

    def release(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=30)

    def __enter__(self) -> "WriteTransactionHolder":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def test_step_while_another_process_holds_the_database_exits_3_in_one_line_and_changes_nothing(project):
    # given a run whose database another process holds a write transaction on
    project.add_workspace("two", TWO_TASKS)
    run_id = project.init("two")
    db = project.run_dir(run_id) / "state.sqlite"
    before = row_counts(db)

    with WriteTransactionHolder(db):
        # when
        result = project.matterstack("step", run_id)

    # then
    assert_one_line_error(result, run_id, BUSY_NOTE, "nothing was changed", code=3)
    assert row_counts(db) == before


def test_pause_while_another_process_holds_the_database_exits_3_in_one_line(project):
    project.add_workspace("two", TWO_TASKS)
    run_id = project.init("two")
    db = project.run_dir(run_id) / "state.sqlite"

    with WriteTransactionHolder(db):
        result = project.matterstack("pause", run_id)

    assert_one_line_error(result, BUSY_NOTE, code=3)
    assert project.run_status(run_id) == "PENDING"


def test_a_running_loop_waits_while_another_process_holds_the_database_and_then_finishes(project):
    # given a loop driving a run with a job of two seconds
    project.add_workspace("slow", ONE_SLOW_TASK)
    run_id = project.init("slow")
    db = project.run_dir(run_id) / "state.sqlite"
    loop = project.start("loop", run_id, "--interval", "0.05")
    project.wait_for(lambda: len(project.attempts(run_id, "slow")) == 1, what="the slow job to start")

    # when another process holds the database for longer than SQLite's busy timeout
    with WriteTransactionHolder(db):
        time.sleep(7)
        assert loop.poll() is None, loop.communicate()

    # then the loop said so once, went on when the database was free, and finished the run
    stdout, stderr = loop.communicate(timeout=120)
    assert loop.returncode == 0, stderr
    assert "Traceback" not in stderr and stderr.count(BUSY_NOTE) == 1
    assert f"Run {run_id} COMPLETED" in stdout and project.run_status(run_id) == "COMPLETED"


def test_a_loop_started_while_another_process_holds_the_database_waits_and_then_finishes(project):
    project.add_workspace("two", TWO_TASKS)
    run_id = project.init("two")
    db = project.run_dir(run_id) / "state.sqlite"

    with WriteTransactionHolder(db):
        loop = project.start("loop", run_id, "--interval", "0.05")
        time.sleep(6)
        assert loop.poll() is None, loop.communicate()

    stdout, stderr = loop.communicate(timeout=120)
    assert loop.returncode == 0, stderr
    assert "Traceback" not in stderr and stderr.count(BUSY_NOTE) == 1
    assert f"Run {run_id} COMPLETED" in stdout and project.run_status(run_id) == "COMPLETED"
