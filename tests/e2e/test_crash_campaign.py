"""Crash anywhere (quality.md) and exactly-once submission (runs.md): ``matterstack step`` is
SIGKILLed at random moments, many times, between normal steps, until the run completes;
then every task has run exactly once and the database is sound.

A kill lands 0–150 ms after the killed ``step`` took the run lock (seeded): its tick has
begun. Starting the command takes longer than that (imports), so a delay counted from the
start would nearly always kill before the tick does anything.
"""

from __future__ import annotations

import collections
import random
import re
import time

import pytest

from e2e_kit import CRASH_CAMPAIGN, holds_file, ok, read_db

NORMAL_STEP_SHARE = 0.2
KILL_DELAY_SECONDS = (0.0, 0.150)
LOCK_POLL_SECONDS = 0.005


def step_and_kill(project, run_id, rng) -> bool:
    """Start ``step``; once it holds the run lock, wait a random moment and SIGKILL it.
    Returns whether it was killed (False: it finished first)."""
    lock = project.run_dir(run_id) / "run.lock"
    process = project.start("step", run_id)
    deadline = time.monotonic() + 60
    while not holds_file(process.pid, lock) and process.poll() is None:
        assert time.monotonic() < deadline, "step never took the run lock"
        time.sleep(LOCK_POLL_SECONDS)
    time.sleep(rng.uniform(*KILL_DELAY_SECONDS))
    killed = process.poll() is None
    if killed:
        process.kill()
    process.communicate(timeout=60)
    assert killed or process.returncode == 0, process.returncode
    return killed


@pytest.mark.parametrize(
    "kills",
    [pytest.param(25, id="25-kills"), pytest.param(300, id="300-kills", marks=pytest.mark.soak)],
)
def test_steps_killed_at_random_moments_run_every_task_exactly_once(project, kills):
    # given a run of the crash campaign (16 + 8 tasks per iteration, until told to stop)
    workspace = project.add_workspace("crash", CRASH_CAMPAIGN)
    run_id = project.init("crash")
    rng = random.Random(20261124 + kills)

    # when step is killed `kills` times, normal steps in between, and then the run finishes
    killed = normal = 0
    while killed < kills:
        if rng.random() < NORMAL_STEP_SHARE:
            ok(project.matterstack("step", run_id))
            normal += 1
        elif step_and_kill(project, run_id, rng):
            killed += 1
        else:
            normal += 1
    (workspace / "stop").write_text("")
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))

    # then the run completed, every task ran exactly once, in its one attempt
    markers = [line.split() for line in (workspace / "markers.txt").read_text().splitlines()]
    runs_per_task = collections.Counter(task_id for task_id, _ in markers)
    with read_db(project.run_dir(run_id) / "state.sqlite") as db:
        run_status = db.execute("SELECT status FROM runs").fetchone()[0]
        tasks = [row[0] for row in db.execute("SELECT task_id FROM tasks")]
        attempts = db.execute("SELECT task_id, attempt_id, status FROM task_attempts").fetchall()
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        adopted = db.execute("SELECT COUNT(*) FROM attempt_events WHERE reason LIKE '%interrupted submission%'"
                             ).fetchone()[0]
    attempts_per_task = collections.Counter(task_id for task_id, _, _ in attempts)
    duplicates = {task_id: n for task_id, n in runs_per_task.items() if n > 1}
    print(f"crash campaign: {killed} kills, {normal} normal steps, {len(tasks)} tasks, {len(attempts)} attempts, "
          f"{len(duplicates)} duplicate executions, {adopted} attempts adopted after an interrupted submission")

    assert run_status == "COMPLETED"
    assert duplicates == {}
    assert set(runs_per_task) == set(tasks)
    assert {task_id: n for task_id, n in attempts_per_task.items() if n != 1} == {}
    assert {status for _, _, status in attempts} == {"COMPLETED"}
    assert sorted((task_id, attempt_id) for task_id, attempt_id, _ in attempts) == sorted(map(tuple, markers))
    assert integrity == "ok"

    # and no iteration was lost or planned twice between analyze and plan
    iterations = sorted({int(re.match(r"i(\d+)_", task_id).group(1)) for task_id in tasks})
    assert iterations == list(range(len(iterations)))
    assert len(tasks) == 24 * len(iterations)
