"""A campaign whose code raises, or plans a bad workflow, never crashes a tick and never
half-writes: the run stays RUNNING with the error recorded, and the next tick retries (the
same error tick after tick: see test_campaign_error_streaks.py). A state that cannot be
saved fails the run."""

from __future__ import annotations

import pytest
from lifecycle_kit import Campaignish

from matterstack import Task, Workflow
from matterstack.core.status import RunStatus
from matterstack.orchestrator.explain import explain


class Faulty(Campaignish):
    """Campaignish whose analyze or plan raises the first ``failures`` times it is called
    after the initial plan."""

    def __init__(self, *iterations, broken: str, failures: int = 1):
        super().__init__(*iterations)
        self.broken = broken
        self.failures = failures
        self.seen_states = []

    def analyze(self, state, results):
        self.seen_states.append(state)
        if self.broken == "analyze" and self.failures:
            self.failures -= 1
            raise RuntimeError("division by zero in the energy model")
        return super().analyze(state, results)

    def plan(self, state):
        if state is not None and self.broken == "plan" and self.failures:
            self.failures -= 1
            raise KeyError("missing_candidate")
        return super().plan(state)


def _campaign_state(run):
    path = run.handle.root_path / "campaign_state.json"
    return path.read_text() if path.exists() else None


@pytest.mark.parametrize(("broken", "message"), [
    ("analyze", "analyze() raised RuntimeError: division by zero in the energy model"),
    ("plan", "plan() raised KeyError: 'missing_candidate'"),
])
def test_raising_campaign_keeps_the_run_running_and_the_next_tick_retries(start_run, broken, message):
    # given a campaign whose analyze (or plan) raises once
    campaign = Faulty([Task(task_id="t1")], broken=broken)
    run = start_run(campaign)
    run.tick()
    # when the tick that analyzes runs
    report = run.tick()
    # then the run is still RUNNING, the error is in the tick's notes, the run notes and explain
    assert report.status == RunStatus.RUNNING
    assert any(message in n for n in report.notes)
    with run.store() as store:
        assert any(message in n.text for n in store.run_notes())
        assert any(message in n for n in explain(run.handle, store, run.registry).notes)
    # and nothing of the failed iteration was kept
    assert _campaign_state(run) is None
    # when the code works again, the next tick analyzes the same results from the same state
    assert run.tick().status == RunStatus.COMPLETED
    assert campaign.seen_states == [None, None]
    assert '"iteration": 1' in _campaign_state(run)


def _cycle(state):
    return Workflow([Task(task_id="x", dependencies={"y"}), Task(task_id="y", dependencies={"x"})])


def _unknown_dependency(state):
    return Workflow([Task(task_id="x", dependencies={"ghost"})])


def _existing_id(state):
    return Workflow([Task(task_id="x"), Task(task_id="t1")])


def _duplicate_in_workflow(state):
    workflow = Workflow([Task(task_id="x")])
    workflow.add_task(Task(task_id="x"))
    return workflow


def _nothing_new(state):
    return Workflow()


class BadPlanner(Campaignish):
    def __init__(self, bad_plan):
        super().__init__([Task(task_id="t1")])
        self.bad_plan = bad_plan

    def plan(self, state):
        return super().plan(None) if state is None else self.bad_plan(state)


@pytest.mark.parametrize(("bad_plan", "words"), [
    (_cycle, "dependency cycle"),
    (_unknown_dependency, "unknown task 'ghost'"),
    (_existing_id, "already in the run: t1"),
    (_duplicate_in_workflow, "duplicate task id 'x'"),
    (_nothing_new, "no new task"),
], ids=["cycle", "unknown-dependency", "existing-id", "duplicate-id", "empty"])
def test_bad_workflow_is_recorded_and_nothing_is_half_written(start_run, bad_plan, words):
    # given a campaign whose second plan is malformed
    run = start_run(BadPlanner(bad_plan))
    run.tick()
    # when the tick that plans runs
    report = run.tick()
    # then the run stays RUNNING with the error recorded, and no task or state was added
    assert report.status == RunStatus.RUNNING and report.planned == 0
    assert any(words in n for n in report.notes), report.notes
    assert list(run.statuses()) == ["t1"]
    assert _campaign_state(run) is None
    with run.store() as store:
        assert any(words in n.text for n in store.run_notes())


def test_state_that_cannot_be_saved_fails_the_run_in_one_line_naming_the_type_and_the_fix(start_run):
    # given a campaign whose analyze returns a set inside its state
    class SetState(Campaignish):
        def analyze(self, state, results):
            return {"seen": {"t1"}}

    run = start_run(SetState([Task(task_id="t1")]))
    run.tick()
    # when the tick that analyzes runs
    report = run.tick()
    # then the run is FAILED at once (the same state would come back on every tick), its
    # reason is one line naming the value, where it is and what to return instead
    assert report.status == RunStatus.FAILED
    reason = run.run().status_reason
    assert "\n" not in reason
    assert "analyze() returned a dict whose ['seen'] is a set, which campaign_state.json cannot hold" in reason
    assert "fix: return plain JSON values" in reason and "a dataclass, an attrs class or a pydantic model" in reason
    assert any("the run is FAILED" in n for n in report.notes)
    # and nothing of the iteration was kept, and no campaign error was counted
    assert _campaign_state(run) is None
    with run.store() as store:
        assert store.run_notes() == []


def test_plan_returning_none_completes_the_run_and_keeps_the_final_state(start_run):
    # given a one-iteration campaign
    run = start_run(Campaignish([Task(task_id="t1")]))
    # when it is ticked to the end
    assert run.tick_until_done() == RunStatus.COMPLETED
    # then the run says why it completed and the analyzed state is on disk
    assert "plan returned None" in run.run().status_reason
    assert '"statuses": {"t1": "COMPLETED"}' in _campaign_state(run)
