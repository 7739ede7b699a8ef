"""The same campaign error tick after tick: one run note counts it, the fifth in a row fails
the run with the error's last line and the traceback in the run folder, and reviving the run
once the code is fixed analyzes the same iteration again with nothing lost."""

from __future__ import annotations

import pytest
from lifecycle_kit import Campaignish

from matterstack import Task
from matterstack.core.status import RunStatus
from matterstack.orchestrator import control
from matterstack.orchestrator.campaign_errors import IDENTICAL_ERRORS_TO_FAIL


class Broken(Campaignish):
    """Campaignish whose analyze or plan raises ``error()`` after the first plan, until
    ``fixed`` is set."""

    def __init__(self, *iterations, broken: str, error=lambda: ValueError("no energy for 'Li2O'")):
        super().__init__(*iterations)
        self.broken = broken
        self.error = error
        self.fixed = False
        self.seen_states = []

    def analyze(self, state, results):
        self.seen_states.append(state)
        if self.broken == "analyze" and not self.fixed:
            raise self.error()
        return super().analyze(state, results)

    def plan(self, state):
        if state is not None and self.broken == "plan" and not self.fixed:
            raise self.error()
        return super().plan(state)


def campaign_notes(run) -> list[str]:
    with run.store() as store:
        return [n.text for n in store.run_notes() if n.text.startswith("campaign ")]


@pytest.mark.parametrize("phase", ["analyze", "plan"])
def test_the_same_error_on_consecutive_ticks_is_one_note_whose_count_grows(start_run, phase):
    # given a campaign whose analyze (or plan) raises the same error every time
    run = start_run(Broken([Task(task_id="t1")], broken=phase))
    run.tick()
    # when four ticks call it
    reports = [run.tick() for _ in range(IDENTICAL_ERRORS_TO_FAIL - 1)]
    # then the run is still RUNNING, and one note holds the error and how often it came
    assert [r.status for r in reports] == [RunStatus.RUNNING] * (IDENTICAL_ERRORS_TO_FAIL - 1)
    (note,) = campaign_notes(run)
    assert note.startswith(f"campaign {phase}() raised ValueError: no energy for 'Li2O'; the next tick retries")
    assert f"seen on {IDENTICAL_ERRORS_TO_FAIL - 1} tick(s) in a row" in note
    # and each tick said so in its own notes, with the count so far
    assert "seen on 1 tick(s) in a row" in reports[0].notes[0]
    assert "seen on 2 tick(s) in a row" in reports[1].notes[0]


@pytest.mark.parametrize("phase", ["analyze", "plan"])
def test_the_fifth_identical_error_fails_the_run_with_its_last_line_and_the_traceback_in_the_run_folder(
        start_run, phase):
    # given a campaign whose analyze (or plan) raises the same error every time
    run = start_run(Broken([Task(task_id="t1")], broken=phase))
    run.tick()
    # when it raised on as many ticks in a row as fail a run
    reports = [run.tick() for _ in range(IDENTICAL_ERRORS_TO_FAIL)]
    # then the last tick failed the run; the reason starts with the exception's last line and
    # says where the traceback is and how to go on
    assert reports[-1].status == RunStatus.FAILED
    reason = run.run().status_reason
    traceback_file = run.handle.root_path / "campaign_error.txt"
    assert reason.startswith("ValueError: no energy for 'Li2O'; campaign")
    assert f"{phase}() raised it on {IDENTICAL_ERRORS_TO_FAIL} ticks in a row" in reason
    assert f"traceback in {traceback_file}" in reason
    assert f"`matterstack revive {run.handle.run_id}`" in reason
    # and the file holds the whole traceback, down to the campaign's own line
    text = traceback_file.read_text()
    assert "Traceback (most recent call last):" in text
    assert "raise self.error()" in text and text.rstrip().endswith("ValueError: no energy for 'Li2O'")
    # and the streak is one note, which says the run failed
    (note,) = campaign_notes(run)
    assert f"on {IDENTICAL_ERRORS_TO_FAIL} ticks in a row: the run is FAILED" in note
    # and a failed run is left alone by later ticks
    assert run.tick().status == RunStatus.FAILED
    assert len(campaign_notes(run)) == 1


def test_a_different_error_starts_a_new_note_and_a_new_count(start_run):
    # given a campaign whose error changes after two ticks
    messages = iter(["first", "first", "second", "second"])
    run = start_run(Broken([Task(task_id="t1")], broken="analyze", error=lambda: RuntimeError(next(messages))))
    run.tick()
    # when four ticks call it
    reports = [run.tick() for _ in range(4)]
    # then the run goes on, with one note per error, each counting its own ticks
    assert reports[-1].status == RunStatus.RUNNING
    first, second = campaign_notes(run)
    assert "RuntimeError: first" in first and "seen on 2 tick(s)" in first
    assert "RuntimeError: second" in second and "seen on 2 tick(s)" in second


def test_an_error_that_goes_away_ends_the_streak(start_run):
    # given a campaign that raised on two ticks, then works, then raises the same again
    run = start_run(Broken([Task(task_id="t1")], [Task(task_id="t2")], broken="analyze"))
    run.tick()
    run.tick()
    run.tick()
    run.campaign.fixed = True
    assert run.tick().planned == 1
    run.campaign.fixed = False
    run.tick()  # runs t2
    # when it raises again
    report = run.tick()
    # then that is a new streak: a new note counting from one
    assert report.status == RunStatus.RUNNING
    assert "seen on 1 tick(s) in a row" in campaign_notes(run)[-1]
    assert len(campaign_notes(run)) == 2


@pytest.mark.parametrize("phase", ["analyze", "plan"])
def test_revive_after_the_fix_analyzes_the_same_iteration_again_with_nothing_lost(start_run, phase):
    # given a run failed by a campaign error, after its first iteration ran
    run = start_run(Broken([Task(task_id="t1")], [Task(task_id="t2")], broken=phase))
    run.tick()
    while run.tick().status != RunStatus.FAILED:
        pass
    attempts_before = [a.attempt_id for a in run.attempts("t1")]
    # when the code is fixed and the run revived
    run.campaign.fixed = True
    control.revive(run.handle)
    # then the run goes on from the same iteration to the end
    assert run.tick_until_done() == RunStatus.COMPLETED
    assert run.statuses() == {"t1": "COMPLETED", "t2": "COMPLETED"}
    # and nothing was lost or redone: t1 ran once, analyze saw the same (empty) state each
    # time until it succeeded, then the state of the first iteration
    assert [a.attempt_id for a in run.attempts("t1")] == attempts_before
    assert all(state is None for state in run.campaign.seen_states[:-1])
    assert run.campaign.seen_states[-1] == {"iteration": 1, "statuses": {"t1": "COMPLETED"}}


def test_a_revived_run_that_still_raises_gets_as_many_tries_again(start_run):
    # given a run failed by a campaign error
    run = start_run(Broken([Task(task_id="t1")], broken="analyze"))
    run.tick()
    while run.tick().status != RunStatus.FAILED:
        pass
    # when it is revived without a fix
    control.revive(run.handle)
    reports = [run.tick() for _ in range(IDENTICAL_ERRORS_TO_FAIL)]
    # then it fails again only after as many ticks, counted on a new note
    assert [r.status for r in reports[:-1]] == [RunStatus.RUNNING] * (IDENTICAL_ERRORS_TO_FAIL - 1)
    assert reports[-1].status == RunStatus.FAILED
    assert len(campaign_notes(run)) == 2
