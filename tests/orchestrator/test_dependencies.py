"""Dependencies and failure policy: what a failed task does to its dependents and to the run."""

from __future__ import annotations

from lifecycle_kit import Campaignish

from matterstack import Task
from matterstack.core.status import AttemptStatus, RunStatus

FAILED = AttemptStatus.FAILED


def test_allowed_failure_lets_the_run_go_on_and_complete(start_run, world):
    # given a task that fails but allows it, and an independent task
    world.task_outcomes["flaky"] = FAILED
    campaign = Campaignish([Task(task_id="flaky", allow_failure=True), Task(task_id="solid")])
    run = start_run(campaign)
    # when the run is ticked to the end
    status = run.tick_until_done()
    # then it completed, and analyze saw the failure
    assert status == RunStatus.COMPLETED
    assert run.statuses() == {"flaky": "FAILED", "solid": "COMPLETED"}
    assert campaign.analyzed[0]["flaky"]["status"] == "FAILED"


def test_failed_dependency_skips_dependents_in_cascade(start_run, world):
    # given a chain a -> b -> c behind an allowed failure, and d that tolerates c's fate
    world.task_outcomes["a"] = FAILED
    campaign = Campaignish([
        Task(task_id="a", allow_failure=True),
        Task(task_id="b", dependencies={"a"}),
        Task(task_id="c", dependencies={"b"}),
        Task(task_id="d", dependencies={"c"}, allow_dependency_failure=True),
    ])
    run = start_run(campaign)
    # when the run is ticked to the end
    status = run.tick_until_done()
    # then b and c were skipped without ever running, d ran, and skips did not fail the run
    assert run.statuses() == {"a": "FAILED", "b": "SKIPPED", "c": "SKIPPED", "d": "COMPLETED"}
    assert run.attempts("b") == [] and run.attempts("c") == []
    assert status == RunStatus.COMPLETED
    with run.store() as store:
        reasons = {e.task_id: e.reason for e in store.task_events()}
    assert "a" in reasons["b"] and "b" in reasons["c"]


def test_failed_task_fails_the_run_with_a_reason_naming_the_failed_tasks(start_run, world):
    # given two failing tasks without allow_failure, and a dependent of one of them
    world.task_outcomes.update(a=FAILED, x=FAILED)
    campaign = Campaignish([Task(task_id="a"), Task(task_id="x"), Task(task_id="b", dependencies={"a"}),
                            Task(task_id="ok")])
    run = start_run(campaign)
    # when the run is ticked to the end
    status = run.tick_until_done()
    # then the run failed, naming both failed tasks (not the skipped one), without analysis
    assert status == RunStatus.FAILED
    reason = run.run().status_reason
    assert "a, x" in reason and "b" not in reason.split("(")[0]
    assert run.statuses() == {"a": "FAILED", "x": "FAILED", "b": "SKIPPED", "ok": "COMPLETED"}
    assert campaign.analyzed == []


def test_dependents_wait_for_unfinished_dependencies(start_run, world):
    # given b depending on a, and a still running
    world.default = None
    run = start_run(Campaignish([Task(task_id="a"), Task(task_id="b", dependencies={"a"})]))
    run.tick()
    run.tick()
    # then b has not started
    assert run.statuses() == {"a": "WAITING_EXTERNAL", "b": "PENDING"}
    # when a completes, b starts on the next tick
    world.default = AttemptStatus.COMPLETED
    report = run.tick()
    assert report.finished == 1 and report.submitted == 1
    assert run.tick_until_done() == RunStatus.COMPLETED


def test_later_iterations_may_depend_on_earlier_tasks(start_run):
    # given a campaign whose second iteration depends on a task of the first
    campaign = Campaignish([Task(task_id="a")], [Task(task_id="b", dependencies={"a"})])
    run = start_run(campaign)
    # when the run is ticked to the end
    status = run.tick_until_done()
    # then both iterations ran, and analyze got every task of the run the second time
    assert status == RunStatus.COMPLETED
    assert run.statuses() == {"a": "COMPLETED", "b": "COMPLETED"}
    assert set(campaign.analyzed[-1]) == {"a", "b"}
    assert campaign.analyzed[-1]["b"]["data"] == {"task": "b"}
    assert campaign.analyzed[-1]["b"]["files"]["result.txt"].endswith("result.txt")
