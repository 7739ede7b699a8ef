"""A store kept open across ticks (``loop``) answers repeated reads from what it decoded
before, without ever handing out something stale or shared."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from store_helpers import new_run

from matterstack.core.records import Attempt
from matterstack.core.status import AttemptStatus
from matterstack.core.transitions import apply_attempt_transition
from matterstack.core.workflow import Task
from matterstack.store import StateStore

RUN = new_run()
T0 = datetime(2027, 1, 1, 12, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    with StateStore.create(tmp_path / RUN.run_id / "state.sqlite", RUN) as opened:
        yield opened


def test_each_read_of_a_task_is_an_independent_copy(store):
    # given a task read once, and the copy changed by whoever got it
    store.add_tasks([Task(task_id="t1", command="true", env={"A": "1"}, dependencies=set())])
    first = store.get_tasks(["t1"])["t1"]
    first.env["A"] = "changed"
    first.dependencies.add("elsewhere")
    # when it is read again from the same store
    again = store.get_tasks(["t1", "unknown"])
    # then the store's answer is the task as added, and unknown ids are left out
    assert again == {"t1": Task(task_id="t1", command="true", env={"A": "1"})}


def test_active_attempts_follow_every_transition(store):
    # given an active attempt read once
    store.add_tasks([Task(task_id="t1")])
    attempt = Attempt(attempt_id="a1", task_id="t1", run_id=RUN.run_id, attempt_index=1,
                      operator_key="local.default", created_at=T0)
    store.add_attempts([attempt])
    assert store.active_attempts() == [attempt]
    # when it moves on
    running, event = apply_attempt_transition(attempt, AttemptStatus.RUNNING, "started", T0, external_id="j1")
    store.record_attempt_transitions([(running, event)])
    # then the next read sees the new values, and a finished attempt is no longer active
    assert store.active_attempts() == [running]
    assert store.active_attempt_counts() == {"local.default": 1} and store.has_active_attempts()
    done, event = apply_attempt_transition(running, AttemptStatus.COMPLETED, "exit 0", T0)
    store.record_attempt_transitions([(done, event)])
    assert store.active_attempts() == [] and store.active_attempt_counts() == {} and not store.has_active_attempts()


def test_next_attempt_slots_answer_for_many_tasks_at_once_with_the_latest_attempt(store):
    store.add_tasks([Task(task_id="t1"), Task(task_id="t2")])
    first = Attempt(attempt_id="a1", task_id="t1", run_id=RUN.run_id, attempt_index=1, created_at=T0)
    store.add_attempts([first])
    done, event = apply_attempt_transition(first, AttemptStatus.FAILED, "exit 1", T0)
    store.record_attempt_transitions([(done, event)])
    store.add_attempts([Attempt(attempt_id="a0", task_id="t1", run_id=RUN.run_id, attempt_index=2, created_at=T0)])
    # the latest is the highest index, whatever its id sorts like
    assert store.next_attempt_slots(["t1", "t2"]) == {"t1": (3, "a0"), "t2": (1, None)}


def test_taken_attempt_ids_are_those_the_run_holds_already(store):
    store.add_tasks([Task(task_id="t1")])
    store.add_attempts([Attempt(attempt_id="a1", task_id="t1", run_id=RUN.run_id, attempt_index=1, created_at=T0)])
    assert store.taken_attempt_ids(["a1", "a2"]) == {"a1"}


def test_an_answer_soon_after_the_last_is_not_written_again_but_one_after_a_failure_is(store):
    # given an operator instance that answered
    store.record_operator_contact("hpc.dev", ok=True, at=T0)
    # when it answers again within a second, then fails, then answers
    store.record_operator_contact("hpc.dev", ok=True, at=T0 + timedelta(milliseconds=300))
    assert store.operator_contacts()["hpc.dev"].last_ok_at == T0
    store.record_operator_contact("hpc.dev", ok=False, at=T0 + timedelta(milliseconds=400), error="refused")
    store.record_operator_contact("hpc.dev", ok=True, at=T0 + timedelta(milliseconds=500))
    # then the answer after the failure is recorded, as is one a second later
    assert store.operator_contacts()["hpc.dev"].last_ok_at == T0 + timedelta(milliseconds=500)
    store.record_operator_contact("hpc.dev", ok=True, at=T0 + timedelta(seconds=2))
    assert store.operator_contacts()["hpc.dev"].last_ok_at == T0 + timedelta(seconds=2)
