"""Status rules: attempts, runs, the derived task view, dependency outcomes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from matterstack.core.records import Attempt, Run
from matterstack.core.status import ATTEMPT_TERMINAL, RUN_TERMINAL, AttemptStatus, RunStatus, TaskStatus
from matterstack.core.transitions import (
    apply_attempt_transition,
    apply_run_transition,
    check_attempt_transition,
    check_run_transition,
    dependency_outcome,
    revive_run,
    task_status_for_attempt,
)
from matterstack.errors import TransitionError

A, R, T = AttemptStatus, RunStatus, TaskStatus
NOW = datetime(2026, 11, 24, 14, 22, 16, 617543, tzinfo=timezone.utc)
TERMINAL_ATTEMPT = {A.COMPLETED, A.FAILED, A.CANCELLED, A.FAILED_INIT}

# The design's table, written out independently of the implementation.
ATTEMPT_ALLOWED = {
    A.CREATED: {A.SUBMITTED, A.WAITING_EXTERNAL, A.RUNNING} | TERMINAL_ATTEMPT,
    A.SUBMITTED: {A.RUNNING, A.WAITING_EXTERNAL} | TERMINAL_ATTEMPT,
    A.WAITING_EXTERNAL: {A.RUNNING} | TERMINAL_ATTEMPT,
    A.RUNNING: set(TERMINAL_ATTEMPT),
}
RUN_ALLOWED = {
    R.PENDING: {R.RUNNING, R.PAUSED, R.COMPLETED, R.FAILED, R.CANCELLED},
    R.RUNNING: {R.PAUSED, R.COMPLETED, R.FAILED, R.CANCELLED},
    R.PAUSED: {R.RUNNING, R.COMPLETED, R.FAILED, R.CANCELLED},
}


def _attempt(status: AttemptStatus = A.CREATED) -> Attempt:
    return Attempt(attempt_id="a1", task_id="t", run_id="r", attempt_index=1, status=status, created_at=NOW)


reasons = st.text(min_size=1).filter(str.strip)

# --- attempts -------------------------------------------------------------------------------


@pytest.mark.parametrize("current", list(A))
@pytest.mark.parametrize("new", list(A))
def test_attempt_transitions_follow_the_design_table(current, new):
    allowed = new in ATTEMPT_ALLOWED.get(current, set()) or (new is current and current not in TERMINAL_ATTEMPT)
    if allowed:
        check_attempt_transition(current, new, "because")
    else:
        with pytest.raises(TransitionError):
            check_attempt_transition(current, new, "because")


@given(st.sampled_from(A), st.sampled_from(A), st.sampled_from(["", " ", "\n\t", None]))
def test_every_attempt_transition_needs_a_reason(current, new, reason):
    with pytest.raises(TransitionError):
        check_attempt_transition(current, new, reason)


@given(st.sampled_from(sorted(ATTEMPT_TERMINAL)), st.sampled_from(A), reasons)
def test_no_terminal_attempt_status_ever_changes(current, new, reason):
    with pytest.raises(TransitionError, match="final"):
        check_attempt_transition(current, new, reason)


def test_statuses_may_be_given_as_their_stored_strings():
    check_attempt_transition("SUBMITTED", "RUNNING", "squeue says R")
    with pytest.raises(TransitionError, match="unknown"):
        check_attempt_transition("SUBMITTED", "DONE", "?")


def test_submitting_sets_submitted_at_and_records_an_event():
    attempt, event = apply_attempt_transition(_attempt(), A.SUBMITTED, "sbatch accepted", NOW, external_id="1234")
    assert (attempt.status, attempt.submitted_at, attempt.ended_at, attempt.external_id) == (A.SUBMITTED, NOW, None, "1234")
    assert attempt.status_reason == "sbatch accepted"
    assert (event.from_status, event.to_status, event.reason, event.at) == (A.CREATED, A.SUBMITTED, "sbatch accepted", NOW)
    assert event.data == {"external_id": "1234"}


def test_transition_times_are_stored_in_utc():
    later = datetime(2026, 11, 24, 15, 0, tzinfo=timezone(timedelta(hours=1)))
    attempt, event = apply_attempt_transition(_attempt(), A.RUNNING, "started", later)
    assert attempt.submitted_at.utcoffset() == timedelta(0) and attempt.submitted_at == later
    with pytest.raises(ValueError, match="timezone-aware"):
        apply_attempt_transition(_attempt(), A.RUNNING, "started", datetime(2026, 1, 1))


@pytest.mark.parametrize("field", ["status", "submitted_at", "ended_at", "attempt_id", "no_such_field"])
def test_fields_owned_by_the_rules_cannot_be_changed_alongside(field):
    with pytest.raises(ValueError, match=field):
        apply_attempt_transition(_attempt(), A.RUNNING, "started", NOW, **{field: None})


def test_operator_data_is_kept_on_the_attempt_not_in_the_event():
    attempt, event = apply_attempt_transition(_attempt(), A.SUBMITTED, "ok", NOW, operator_data={"big": "x" * 100})
    assert attempt.operator_data == {"big": "x" * 100}
    assert event.data == {}


def test_a_stub_attempt_created_waiting_keeps_submitted_at_empty():
    attempt, _ = apply_attempt_transition(_attempt(A.WAITING_EXTERNAL), A.COMPLETED, "answered", NOW)
    assert (attempt.submitted_at, attempt.ended_at) == (None, NOW)


def test_a_same_status_update_keeps_the_status_reason():
    attempt = _attempt(A.RUNNING)
    updated, event = apply_attempt_transition(attempt, A.RUNNING, "job id learnt", NOW, external_id="77")
    assert (updated.status_reason, updated.external_id) == (attempt.status_reason, "77")
    assert event.from_status is event.to_status is A.RUNNING


class AttemptLifecycle(RuleBasedStateMachine):
    """Random status changes against the rules; the invariants must hold after each step."""

    def __init__(self) -> None:
        super().__init__()
        self.attempt = _attempt()
        self.clock = NOW
        self.first_submitted_at = None
        self.first_ended_at = None
        self.events = 0

    @rule(new=st.sampled_from(A), reason=st.sampled_from(["", "polled", "  "]), minutes=st.integers(0, 60))
    def change(self, new, reason, minutes):
        self.clock += timedelta(minutes=minutes)
        before = self.attempt
        try:
            self.attempt, event = apply_attempt_transition(before, new, reason, self.clock)
        except TransitionError:
            assert self.attempt is before
            assert (not reason.strip()) or before.status in ATTEMPT_TERMINAL or new not in ATTEMPT_ALLOWED[before.status]
            return
        assert reason.strip() and before.status not in ATTEMPT_TERMINAL
        assert event.from_status is before.status and event.to_status is new
        self.events += 1
        if self.first_submitted_at is None and self.attempt.submitted_at is not None:
            self.first_submitted_at = self.attempt.submitted_at
        if self.first_ended_at is None and self.attempt.ended_at is not None:
            self.first_ended_at = self.attempt.ended_at

    @invariant()
    def timestamps_are_set_once(self):
        assert self.attempt.submitted_at == self.first_submitted_at
        assert self.attempt.ended_at == self.first_ended_at
        assert (self.attempt.submitted_at is None) == (self.attempt.status is A.CREATED)
        assert (self.attempt.ended_at is None) == (self.attempt.status not in ATTEMPT_TERMINAL)

    @invariant()
    def task_view_is_derived_from_the_attempt(self):
        view = task_status_for_attempt(self.attempt.status)
        assert view.is_terminal == self.attempt.status.is_terminal
        assert view is not T.PENDING and view is not T.SKIPPED


TestAttemptLifecycle = AttemptLifecycle.TestCase


@pytest.mark.parametrize(
    ("attempt_status", "task_status"),
    [
        (None, T.PENDING),
        (A.CREATED, T.WAITING_EXTERNAL),
        (A.SUBMITTED, T.WAITING_EXTERNAL),
        (A.WAITING_EXTERNAL, T.WAITING_EXTERNAL),
        (A.RUNNING, T.RUNNING),
        (A.COMPLETED, T.COMPLETED),
        (A.FAILED, T.FAILED),
        (A.CANCELLED, T.CANCELLED),
        (A.FAILED_INIT, T.FAILED),
    ],
)
def test_a_task_shows_the_status_of_its_current_attempt(attempt_status, task_status):
    assert task_status_for_attempt(attempt_status) is task_status


# --- runs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("current", list(R))
@pytest.mark.parametrize("new", list(R))
def test_run_transitions_follow_the_design_table(current, new):
    allowed = new in RUN_ALLOWED.get(current, set()) or (new is current and current not in RUN_TERMINAL)
    if allowed:
        check_run_transition(current, new, "because")
    else:
        with pytest.raises(TransitionError):
            check_run_transition(current, new, "because")


@given(st.sampled_from(R), st.sampled_from(R), st.booleans())
def test_every_run_transition_needs_a_reason(current, new, revive):
    with pytest.raises(TransitionError):
        check_run_transition(current, new, " ", revive=revive)


@given(st.sampled_from(R), st.sampled_from(R), reasons)
def test_revive_only_moves_a_finished_run_back_to_pending(current, new, reason):
    if current in RUN_TERMINAL and new is R.PENDING:
        check_run_transition(current, new, reason, revive=True)
    else:
        with pytest.raises(TransitionError, match="revive"):
            check_run_transition(current, new, reason, revive=True)


def test_pause_resume_and_revive_record_their_reason():
    run = Run(run_id="r", workspace_slug="w", root_path="runs/r", created_at=NOW, status=R.RUNNING)
    paused = apply_run_transition(run, R.PAUSED, "paused by alice")
    resumed = apply_run_transition(paused, R.RUNNING, "resumed by alice")
    failed = apply_run_transition(resumed, R.FAILED, "Workflow tasks failed")
    with pytest.raises(TransitionError, match="revive"):
        apply_run_transition(failed, R.PENDING, "try again")
    revived = revive_run(failed, "Revived via CLI from FAILED")
    assert [paused.status, resumed.status, failed.status, revived.status] == [R.PAUSED, R.RUNNING, R.FAILED, R.PENDING]
    assert revived.status_reason == "Revived via CLI from FAILED"


# --- dependencies ---------------------------------------------------------------------------

FAILED_LIKE = [T.FAILED, T.CANCELLED, T.SKIPPED]
UNFINISHED = [T.PENDING, T.WAITING_EXTERNAL, T.RUNNING]


@given(st.lists(st.sampled_from(T)), st.booleans())
def test_dependency_outcome_rules(statuses, allow_dependency_failure):
    outcome = dependency_outcome(statuses, allow_dependency_failure)
    failed = any(status in FAILED_LIKE for status in statuses)
    unfinished = any(status in UNFINISHED for status in statuses)
    if failed and not allow_dependency_failure:
        assert outcome == "skip"
    elif unfinished:
        assert outcome == "wait"
    else:
        assert outcome == "ready"


def test_dependency_examples():
    assert dependency_outcome([], False) == "ready"
    assert dependency_outcome([T.COMPLETED, T.COMPLETED], False) == "ready"
    assert dependency_outcome([T.COMPLETED, T.RUNNING], False) == "wait"
    assert dependency_outcome([T.FAILED, T.RUNNING], False) == "skip"
    assert dependency_outcome([T.FAILED, T.RUNNING], True) == "wait"
    assert dependency_outcome(["SKIPPED", "COMPLETED"], True) == "ready"
