"""``matterstack loop`` without a run id: every active run of the project, in turn."""

from __future__ import annotations

from e2e_kit import SLEEPERS, TWO_TASKS, LockHolder, ok


def test_loop_without_a_run_id_finishes_every_active_run_of_the_project(project):
    # given three runs in two workspaces, one of them finished already
    project.add_workspace("demos/two", TWO_TASKS)
    project.add_workspace("other", TWO_TASKS)
    finished = project.init("demos/two")
    ok(project.matterstack("loop", finished, "--interval", "0.05"))
    runs = [project.init("demos/two"), project.init("demos/two"), project.init("other")]

    # when
    result = ok(project.matterstack("loop", "--interval", "0.05"))

    # then
    assert {project.run_status(run_id) for run_id in runs} == {"COMPLETED"}
    for run_id in runs:
        assert f"Run {run_id} COMPLETED" in result.stdout
    assert finished not in result.stdout + result.stderr


def test_loop_skips_a_run_locked_by_another_process_and_the_others_progress(project):
    # given three runs, one locked by another process
    project.add_workspace("demos/two", TWO_TASKS)
    free = [project.init("demos/two"), project.init("demos/two")]
    locked = project.init("demos/two")

    with LockHolder(project.run_dir(locked)):
        # when
        loop = project.start("loop", "--interval", "0.05")

        # then the free runs finish while the locked one is not touched
        project.wait_for(lambda: {project.run_status(r) for r in free} == {"COMPLETED"},
                         timeout=90, what="the unlocked runs to complete")
        assert project.run_status(locked) == "PENDING"
        assert loop.poll() is None

    # and once the lock is released, the loop finishes that run too, and ends
    stdout, stderr = loop.communicate(timeout=90)
    assert loop.returncode == 0, stderr
    assert project.run_status(locked) == "COMPLETED"
    assert stderr.count(f"{locked}: being stepped by another process, skipped") == 1
    assert all(f"Run {run_id} COMPLETED" in stdout for run_id in [*free, locked])


def test_loop_sees_a_run_another_command_cancels_between_its_rounds(project):
    # given a loop over a project of a quick run and a run of two long sleeps
    project.add_workspace("two", TWO_TASKS)
    project.add_workspace("sleepers", SLEEPERS)
    quick, sleeping = project.init("two"), project.init("sleepers")
    loop = project.start("loop", "--interval", "0.05")
    project.wait_for(lambda: project.run_status(quick) == "COMPLETED" and len(project.attempts(sleeping)) == 4,
                     timeout=90, what="the quick run to complete and every sleeper to start")

    # when another command cancels the sleeping run while the loop goes round
    ok(project.matterstack("cancel", sleeping))

    # then the loop reads the run's end from the database it keeps open and, with no run
    # left to drive, ends (a run another command ended is not the loop's to report)
    stdout, stderr = loop.communicate(timeout=60)
    assert loop.returncode == 0, stderr
    assert f"Run {quick} COMPLETED" in stdout
    assert project.run_status(sleeping) == "CANCELLED"
    assert sleeping not in stdout


def test_loop_of_a_project_without_active_runs_says_so(project):
    result = ok(project.matterstack("loop", "--interval", "0.05"))

    assert result.stdout == "No active runs.\n"
