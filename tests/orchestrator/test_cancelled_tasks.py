"""A task cancelled on its own (``cancel-attempt``) ends its iteration short: the run is
CANCELLED, or FAILED when a task also failed, never COMPLETED, and ``analyze`` is not called
(0.2.x counted a cancelled task as a failed one). ``allow_failure`` covers a cancelled task."""

from __future__ import annotations

from lifecycle_kit import Campaignish

from matterstack import Task
from matterstack.core.status import AttemptStatus, RunStatus
from matterstack.orchestrator import control


def cancel_task(run, task_id):
    control.cancel_attempt(run.handle, run.registry, run.attempt(task_id).attempt_id)


def test_a_run_whose_tasks_were_all_cancelled_ends_cancelled_without_analyzing(start_run, world):
    # given a run whose two tasks are running
    world.default = None
    campaign = Campaignish([Task(task_id="a"), Task(task_id="b")])
    run = start_run(campaign)
    run.tick()
    # when both attempts are cancelled and the run ticks on
    cancel_task(run, "a")
    cancel_task(run, "b")
    report = run.tick()
    # then the run is CANCELLED, its reason names the tasks and how to run one again
    assert report.status == RunStatus.CANCELLED
    assert run.run().status_reason == (
        f"tasks cancelled: a, b (fix: `matterstack rerun {run.handle.run_id} a` runs one again and revives the run)")
    # and the campaign never analyzed the cut-short iteration
    assert campaign.analyzed == []
    assert not (run.handle.root_path / "campaign_state.json").exists()


def test_one_cancelled_task_among_completed_ones_still_cancels_the_run(start_run, world):
    # given a running task with a dependent, and an independent task
    world.default = None
    campaign = Campaignish([Task(task_id="a"), Task(task_id="b", dependencies={"a"}), Task(task_id="c")])
    run = start_run(campaign)
    run.tick()
    # when a's attempt is cancelled and c completes
    cancel_task(run, "a")
    world.default = AttemptStatus.COMPLETED
    # then b is skipped, and the run ends CANCELLED, not COMPLETED
    assert run.tick_until_done() == RunStatus.CANCELLED
    assert run.statuses() == {"a": "CANCELLED", "b": "SKIPPED", "c": "COMPLETED"}
    assert campaign.analyzed == []


def test_a_failed_task_beside_a_cancelled_one_fails_the_run_naming_both(start_run, world):
    # given two running tasks
    world.default = None
    run = start_run(Campaignish([Task(task_id="a"), Task(task_id="b")]))
    run.tick()
    # when a is cancelled and b fails
    cancel_task(run, "a")
    world.task_outcomes["b"] = AttemptStatus.FAILED
    # then the run is FAILED, and its reason names the failed and the cancelled task
    assert run.tick_until_done() == RunStatus.FAILED
    assert run.run().status_reason.startswith("tasks failed: b; cancelled: a (fix: see `matterstack explain`")


def test_a_cancelled_task_that_allows_failure_lets_the_campaign_analyze(start_run, world):
    # given a task that allows failure, and another
    world.default = None
    campaign = Campaignish([Task(task_id="optional", allow_failure=True), Task(task_id="main")])
    run = start_run(campaign)
    run.tick()
    # when the optional task is cancelled and the other completes
    cancel_task(run, "optional")
    world.default = AttemptStatus.COMPLETED
    # then the run completes, and analyze saw the cancelled task as CANCELLED
    assert run.tick_until_done() == RunStatus.COMPLETED
    assert {t: r["status"] for t, r in campaign.analyzed[0].items()} == {"optional": "CANCELLED", "main": "COMPLETED"}


def test_rerunning_the_cancelled_task_revives_the_run_and_finishes_it(start_run, world):
    # given a run CANCELLED because its task was cancelled
    world.default = None
    run = start_run(Campaignish([Task(task_id="a")]))
    run.tick()
    cancel_task(run, "a")
    assert run.tick().status == RunStatus.CANCELLED
    # when the task is rerun, as the reason says
    world.default = AttemptStatus.COMPLETED
    control.rerun(run.handle, run.registry, "a")
    # then the run goes on to COMPLETED with a second attempt of a
    assert run.tick_until_done() == RunStatus.COMPLETED
    assert [a.status for a in run.attempts("a")] == [AttemptStatus.CANCELLED, AttemptStatus.COMPLETED]
