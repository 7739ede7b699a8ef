"""pause, resume, cancel, revive, rerun and cancel-attempt through the command line, on a
campaign whose tasks really run (``sleep``) as local processes."""

from __future__ import annotations

import json

import pytest

from e2e_kit import SLEEPERS, assert_one_line_error, hash_tree, job_pids, ok


@pytest.fixture
def sleeping(project):
    """A run whose two ``sleep`` tasks are running and whose quick task has completed."""
    project.add_workspace("sleepers", SLEEPERS)
    run_id = project.init("sleepers")
    ok(project.matterstack("step", run_id))
    run_dir = project.run_dir(run_id)
    project.wait_for(lambda: len(job_pids(run_dir)) == 2 and list(run_dir.glob("tasks/quick/attempts/*/exit_code")),
                     what="the sleepers to start and quick to finish")
    return project, run_id


def task_statuses(project, run_id):
    with project.db(run_id) as db:
        return dict(db.execute("SELECT task_id, status FROM tasks").fetchall())


def attempts_json(project, run_id, task_id):
    return json.loads(ok(project.matterstack("attempts", run_id, task_id, "--json")).stdout)


def test_pause_stops_new_submissions_and_resume_lets_them_start(sleeping):
    project, run_id = sleeping

    # when paused, a tick collects quick but does not start its dependent
    paused = ok(project.matterstack("pause", run_id))
    stepped = ok(project.matterstack("step", run_id))

    # then
    assert paused.stdout.splitlines()[-1] == "Run status: PAUSED"
    assert stepped.stdout.startswith(f"Run {run_id}: PAUSED (submitted 0")
    assert task_statuses(project, run_id)["quick"] == "COMPLETED"
    assert task_statuses(project, run_id)["after_quick"] == "PENDING"
    assert json.loads(ok(project.matterstack("status", run_id, "--json")).stdout)["status"] == "PAUSED"

    # when resumed, the next tick starts it
    resumed = ok(project.matterstack("resume", run_id))
    ok(project.matterstack("step", run_id))

    # then
    assert resumed.stdout.splitlines()[-1] == "Run status: RUNNING"
    assert len(attempts_json(project, run_id, "after_quick")) == 1


def test_cancel_stops_every_process_of_the_run_and_closes_every_task(sleeping):
    project, run_id = sleeping
    run_dir = project.run_dir(run_id)

    result = ok(project.matterstack("cancel", run_id))

    assert result.stdout.splitlines()[-1] == "Run status: CANCELLED"
    assert job_pids(run_dir) == []
    assert project.run_status(run_id) == "CANCELLED"
    assert {a["status"] for a in project.attempts(run_id)} <= {"CANCELLED", "COMPLETED"}
    assert task_statuses(project, run_id)["sleep_a"] == "CANCELLED"
    assert task_statuses(project, run_id)["after_quick"] == "CANCELLED"


def test_cancel_while_loop_runs_stops_the_loop_and_the_processes(sleeping):
    # given a loop driving the run
    project, run_id = sleeping
    run_dir = project.run_dir(run_id)
    loop = project.start("loop", run_id, "--interval", "0.05")
    project.wait_for(lambda: task_statuses(project, run_id)["after_quick"] == "COMPLETED", what="the loop to work")

    # when
    result = project.matterstack("cancel", run_id)

    # then the cancel waited its turn, and the loop saw the run end
    _, stderr = loop.communicate(timeout=60)
    ok(result)
    assert loop.returncode == 1, stderr
    assert project.run_status(run_id) == "CANCELLED"
    assert job_pids(run_dir) == []


def test_revive_moves_a_cancelled_run_back_to_pending(sleeping):
    project, run_id = sleeping
    ok(project.matterstack("cancel", run_id))

    result = ok(project.matterstack("revive", run_id))

    assert "CANCELLED → PENDING" in result.stdout
    assert project.run_status(run_id) == "PENDING"


def test_revive_of_an_unfinished_run_is_refused(sleeping):
    project, run_id = sleeping

    result = project.matterstack("revive", run_id)

    assert_one_line_error(result, "RUNNING", "fix:")
    assert project.run_status(run_id) == "RUNNING"


def test_rerun_leaves_attempt_one_untouched_and_runs_attempt_two(sleeping):
    # given quick's first attempt, finished
    project, run_id = sleeping
    ok(project.matterstack("step", run_id))
    (first,) = project.attempts(run_id, "quick")
    first_dir = project.run_dir(run_id) / first["relative_path"]
    before = hash_tree(first_dir)

    # when
    ok(project.matterstack("rerun", run_id, "quick", "--force"))
    project.step_until(run_id, lambda: [a["status"] for a in project.attempts(run_id, "quick")] == ["COMPLETED"] * 2)

    # then
    attempts = attempts_json(project, run_id, "quick")
    assert [a["attempt_index"] for a in attempts] == [1, 2]
    assert attempts[0]["attempt_id"] == first["attempt_id"]
    assert hash_tree(first_dir) == before
    assert (project.run_dir(run_id) / attempts[1]["path"] / "quick.txt").read_text() == "quick\n"
    assert len(attempts_json(project, run_id, "after_quick")) == 1


def test_recursive_rerun_gives_every_dependent_a_new_attempt_too(sleeping):
    project, run_id = sleeping
    project.step_until(run_id, lambda: task_statuses(project, run_id)["after_quick"] == "COMPLETED")
    trees = {a["attempt_id"]: hash_tree(project.run_dir(run_id) / a["relative_path"]) for a in project.attempts(run_id)
             if a["task_id"] in ("quick", "after_quick")}

    result = ok(project.matterstack("rerun", run_id, "quick", "--recursive", "--force"))
    project.step_until(run_id, lambda: task_statuses(project, run_id)["after_quick"] == "COMPLETED"
                       and len(project.attempts(run_id, "after_quick")) == 2)

    assert "quick, after_quick" in result.stdout
    assert len(project.attempts(run_id, "quick")) == 2
    for attempt_id, tree in trees.items():
        (attempt,) = [a for a in project.attempts(run_id) if a["attempt_id"] == attempt_id]
        assert hash_tree(project.run_dir(run_id) / attempt["relative_path"]) == tree


def test_rerun_of_a_running_task_needs_force_and_force_stops_its_process(sleeping):
    project, run_id = sleeping
    run_dir = project.run_dir(run_id)
    (running,) = project.attempts(run_id, "sleep_a")

    # a script is refused without --force (a person at a terminal who answers yes is refused
    # too while the attempt runs: see test_asking_before_acting.py)
    refused = project.matterstack("rerun", run_id, "sleep_a")
    assert_one_line_error(refused, "not a terminal", "--force")
    assert len(job_pids(run_dir)) == 2

    ok(project.matterstack("rerun", run_id, "sleep_a", "--force"))
    ok(project.matterstack("step", run_id))

    attempts = attempts_json(project, run_id, "sleep_a")
    assert [a["status"] for a in attempts][0] == "CANCELLED" and len(attempts) == 2
    assert attempts[0]["attempt_id"] == running["attempt_id"]
    assert job_pids(run_dir / running["relative_path"]) == []
    assert len(job_pids(run_dir)) == 2  # sleep_b and sleep_a's attempt 2


def test_cancel_attempt_stops_that_one_process_only(sleeping):
    project, run_id = sleeping
    run_dir = project.run_dir(run_id)
    (attempt,) = attempts_json(project, run_id, "sleep_b")

    result = ok(project.matterstack("cancel-attempt", run_id, attempt["attempt_id"]))
    again = project.matterstack("cancel-attempt", run_id, attempt["attempt_id"])

    assert f"attempt {attempt['attempt_id']} cancelled" in result.stdout
    assert attempts_json(project, run_id, "sleep_b")[0]["status"] == "CANCELLED"
    assert job_pids(run_dir / attempt["path"]) == []
    assert len(job_pids(run_dir)) == 1  # sleep_a goes on
    assert_one_line_error(again, "already CANCELLED")
