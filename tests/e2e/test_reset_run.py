"""``matterstack reset-run RUN TASK [--action reset|delete] [--recursive] [--force]``, MatterStack
0.2.x's command, through the command line on runs whose tasks really run.

``reset`` runs the task again (``rerun --force``). ``delete`` takes the task out of the run; 0.2.x
deleted its row, here its attempts, their events and files stay and the task is SKIPPED (the
run goes on without it, where a CANCELLED task would end it)."""

from __future__ import annotations

import json

import pytest

from e2e_kit import SLEEPERS, TWO_TASKS, assert_one_line_error, hash_tree, job_pids, ok, row_counts

BROKEN_BRANCH = """
    import json
    from pathlib import Path

    from matterstack import Campaign, Task, Workflow

    HERE = Path(__file__).resolve().parent

    class BrokenBranch(Campaign):
        \"\"\"``broken`` exits 3 and ``after_broken`` needs it; ``fine`` works. analyze writes what
        it was given to seen.json.\"\"\"

        def plan(self, state):
            if state is not None:
                return None
            wf = Workflow()
            wf.add_task(Task(task_id="fine", command="echo fine > fine.txt"))
            wf.add_task(Task(task_id="broken", command="echo trying > tried.txt; exit 3"))
            wf.add_task(Task(task_id="after_broken", command="echo after > after.txt", dependencies={"broken"}))
            return wf

        def analyze(self, state, results):
            seen = {task_id: result["status"] for task_id, result in sorted(results.items())}
            (HERE / "seen.json").write_text(json.dumps(seen))
            return {"seen": seen}

    def get_campaign():
        return BrokenBranch()
"""


def task_statuses(project, run_id):
    with project.db(run_id) as db:
        return dict(db.execute("SELECT task_id, status FROM tasks").fetchall())


def task_events(project, run_id, task_id):
    with project.db(run_id) as db:
        return [tuple(row) for row in db.execute(
            "SELECT from_status, to_status, reason FROM task_events WHERE task_id = ? ORDER BY id", (task_id,))]


def attempt_events(project, run_id):
    with project.db(run_id) as db:
        return [tuple(row) for row in db.execute("SELECT * FROM attempt_events ORDER BY id")]


@pytest.fixture
def failed_run(project):
    """A FAILED run: ``broken`` failed, ``after_broken`` was skipped, ``fine`` completed."""
    workspace = project.add_workspace("branch", BROKEN_BRANCH)
    run_id = project.init("branch")
    project.matterstack("loop", run_id, "--interval", "0.05")
    assert project.run_status(run_id) == "FAILED"
    return project, run_id, workspace


def test_reset_gives_each_task_a_new_attempt_and_continues_the_finished_run(project):
    # given a COMPLETED run
    project.add_workspace("two", TWO_TASKS)
    run_id = project.init("two")
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))
    (first,) = project.attempts(run_id, "prepare")
    first_tree = hash_tree(project.run_dir(run_id) / first["relative_path"])

    # when prepare and its dependent are reset, and the run looped again
    reset = ok(project.matterstack("reset-run", run_id, "prepare", "--recursive", "--force"))
    status_after_reset = project.run_status(run_id)
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))

    # then each has a second attempt, the first one's files are untouched, the run COMPLETED again
    assert "rerun: prepare, report will get a new attempt on the next tick" in reset.stdout
    assert status_after_reset == "PENDING"
    assert [a["status"] for a in project.attempts(run_id, "prepare")] == ["COMPLETED", "COMPLETED"]
    assert len(project.attempts(run_id, "report")) == 2
    assert hash_tree(project.run_dir(run_id) / first["relative_path"]) == first_tree
    assert task_events(project, run_id, "prepare")[-1][2] == "reset by user (reset-run)"
    assert project.run_status(run_id) == "COMPLETED"


def test_reset_of_a_running_task_stops_its_process_first(project):
    project.add_workspace("sleepers", SLEEPERS)
    run_id = project.init("sleepers")
    ok(project.matterstack("step", run_id))
    run_dir = project.run_dir(run_id)
    (running,) = project.attempts(run_id, "sleep_a")
    project.wait_for(lambda: job_pids(run_dir / running["relative_path"]), what="sleep_a to start")

    ok(project.matterstack("reset-run", run_id, "sleep_a", "--force"))

    assert job_pids(run_dir / running["relative_path"]) == []
    assert project.attempts(run_id, "sleep_a")[0]["status"] == "CANCELLED"
    assert task_statuses(project, run_id)["sleep_a"] == "PENDING"


def test_delete_takes_the_task_out_and_keeps_its_attempts_events_and_files(failed_run):
    # given a run FAILED because of broken
    project, run_id, workspace = failed_run
    run_dir = project.run_dir(run_id)
    (attempt,) = project.attempts(run_id, "broken")
    tree = hash_tree(run_dir / attempt["relative_path"])
    events = attempt_events(project, run_id)
    attempts = [dict(a) for a in project.attempts(run_id)]

    # when broken is deleted, and the run revived and looped
    deleted = ok(project.matterstack("reset-run", run_id, "broken", "--action", "delete", "--force"))
    ok(project.matterstack("revive", run_id))
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))

    # then the run completes without it; its dependent is skipped; analyze saw it SKIPPED
    assert deleted.stdout.splitlines() == [
        "deleted: broken (SKIPPED; attempts, events and files kept)",
        f"the run is FAILED: `matterstack revive {run_id}` continues it without them",
        "Run status: FAILED",
    ]
    assert project.run_status(run_id) == "COMPLETED"
    assert task_statuses(project, run_id) == {"fine": "COMPLETED", "broken": "SKIPPED", "after_broken": "SKIPPED"}
    assert json.loads((workspace / "seen.json").read_text()) == {
        "after_broken": "SKIPPED", "broken": "SKIPPED", "fine": "COMPLETED"}
    # and nothing recorded was lost: attempts, attempt events and files as they were
    assert [dict(a) for a in project.attempts(run_id)] == attempts
    assert attempt_events(project, run_id) == events
    assert hash_tree(run_dir / attempt["relative_path"]) == tree
    assert task_events(project, run_id, "broken") == [
        ("FAILED", "PENDING", "deleted by user (reset-run --action delete): detached from its attempt"),
        ("PENDING", "SKIPPED", "deleted by user (reset-run --action delete)"),
    ]
    notes = ok(project.matterstack("explain", run_id)).stdout
    assert "reset-run --action delete: broken taken out of the run (attempts, events and files kept)" in notes


def test_delete_recursive_takes_the_dependents_out_too(failed_run):
    project, run_id, _ = failed_run

    ok(project.matterstack("reset-run", run_id, "broken", "--action", "delete", "--recursive", "--force"))

    assert task_statuses(project, run_id) == {"fine": "COMPLETED", "broken": "SKIPPED", "after_broken": "SKIPPED"}
    assert task_events(project, run_id, "after_broken")[-1] == (
        "PENDING", "SKIPPED", "deleted by user (reset-run --action delete)")


def test_a_deleted_task_comes_back_with_rerun(failed_run):
    project, run_id, _ = failed_run
    ok(project.matterstack("reset-run", run_id, "broken", "--action", "delete", "--force"))

    ok(project.matterstack("rerun", run_id, "broken", "--force"))

    assert task_statuses(project, run_id)["broken"] == "PENDING"
    assert project.run_status(run_id) == "PENDING"


def test_delete_of_a_running_task_stops_its_process(project):
    project.add_workspace("sleepers", SLEEPERS)
    run_id = project.init("sleepers")
    ok(project.matterstack("step", run_id))
    run_dir = project.run_dir(run_id)
    (running,) = project.attempts(run_id, "sleep_a")
    project.wait_for(lambda: job_pids(run_dir / running["relative_path"]), what="sleep_a to start")

    ok(project.matterstack("reset-run", run_id, "sleep_a", "--action", "delete", "--force"))

    assert job_pids(run_dir / running["relative_path"]) == []
    (attempt,) = project.attempts(run_id, "sleep_a")
    assert (attempt["status"], attempt["status_reason"]) == ("CANCELLED", "deleted by user (reset-run --action delete)")
    assert task_statuses(project, run_id)["sleep_a"] == "SKIPPED"
    assert project.run_status(run_id) == "RUNNING"


@pytest.mark.parametrize(("args", "words"), [
    (["broken", "--action", "remove"], ["reset-run --action", "'remove'", "--action delete"]),
    (["ghost", "--action", "delete"], ["no task 'ghost'"]),
    (["ghost"], ["no task 'ghost'"]),
], ids=["unknown-action", "unknown-task-delete", "unknown-task-reset"])
def test_bad_input_is_one_line_and_changes_nothing(failed_run, args, words):
    project, run_id, _ = failed_run
    db = project.run_dir(run_id) / "state.sqlite"
    before = row_counts(db)

    result = project.matterstack("reset-run", run_id, *args, "--force")

    assert_one_line_error(result, *words)
    assert row_counts(db) == before
