"""The StateStore API on a new v4 database: tasks, readiness, attempts, events, encodings."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from store_helpers import new_run, side_files

from matterstack.core.records import Attempt
from matterstack.core.status import AttemptStatus, RunStatus, TaskStatus
from matterstack.core.transitions import apply_attempt_transition
from matterstack.core.workflow import Task
from matterstack.errors import StoreError
from matterstack.store import StateStore, schema
from matterstack.store.schema import ACTIVE_ATTEMPT_FILTER, READY_TASK_FILTER

RUN = new_run()
T0 = datetime(2027, 1, 1, 12, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    with StateStore.create(tmp_path / RUN.run_id / "state.sqlite", RUN) as opened:
        yield opened


def attempt_for(store, task_id: str, **fields) -> Attempt:
    return Attempt(
        attempt_id=f"{task_id}-{store.next_attempt_index(task_id)}",
        task_id=task_id,
        run_id=RUN.run_id,
        attempt_index=store.next_attempt_index(task_id),
        operator_key="local.default",
        created_at=T0,
        **fields,
    )


def move(store, attempt: Attempt, status: AttemptStatus, at=T0, **changes) -> Attempt:
    new, event = apply_attempt_transition(attempt, status, f"to {status.value}", at, **changes)
    store.record_attempt_transitions([(new, event)])
    return new


def diamond(store) -> None:
    store.add_tasks(
        [
            Task(task_id="prep"),
            Task(task_id="left", dependencies={"prep"}),
            Task(task_id="right", dependencies={"prep"}, allow_failure=True),
            Task(task_id="join", dependencies={"left", "right"}),
        ]
    )


def test_new_store_is_current_marked_and_in_wal_mode_with_the_run(store):
    assert store.schema_version == schema.SCHEMA_VERSION
    info = dict(store.db.conn.execute("SELECT key, value FROM schema_info"))
    assert info == {"version": str(schema.SCHEMA_VERSION), "writer": "matterstack-core"}
    assert store.get_run() == RUN
    assert store.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.integrity_check() == "ok"
    assert [(e.from_status, e.to_status) for e in store.run_events()] == [(None, RunStatus.PENDING)]


def test_tasks_round_trip_in_insertion_order(store):
    tasks = [
        Task(task_id="b", command="echo b", env={"X": "1"}, cores=2, download_patterns=["*.json"]),
        Task(task_id="a", dependencies={"b"}, operator_key="hpc.dev", allow_failure=True),
    ]

    store.add_tasks(tasks)

    assert list(store.iter_tasks()) == tasks
    assert store.get_tasks(["a", "zzz"]) == {"a": tasks[1]}
    assert store.task_statuses() == {"b": TaskStatus.PENDING, "a": TaskStatus.PENDING}
    assert store.task_ids() == {"a", "b"}


def test_duplicate_task_id_adds_nothing(store):
    store.add_tasks([Task(task_id="a")])

    with pytest.raises(StoreError, match="UNIQUE"):
        store.add_tasks([Task(task_id="b"), Task(task_id="a")])

    assert store.task_ids() == {"a"}


def test_ready_follows_dependencies_finishing(store):
    diamond(store)
    assert [t.task_id for t in store.ready_tasks()] == ["prep"]

    store.add_attempts([attempt_for(store, "prep")])
    prep = store.get_attempt("prep-1")
    assert store.ready_tasks() == []
    assert store.task_status("prep") == TaskStatus.WAITING_EXTERNAL

    move(store, move(store, prep, AttemptStatus.RUNNING), AttemptStatus.COMPLETED)
    assert [t.task_id for t in store.ready_tasks()] == ["left", "right"]
    assert store.ready_tasks(limit=1) == [store.get_task("left")]
    assert store.waiting_on("join") == 2


def test_failed_dependency_still_counts_as_finished(store):
    diamond(store)
    store.set_task_statuses([("prep", TaskStatus.SKIPPED, "upstream gone")])
    store.set_task_statuses([("left", TaskStatus.SKIPPED, "prep skipped"), ("right", TaskStatus.CANCELLED, "x")])

    assert [t.task_id for t in store.ready_tasks()] == ["join"]
    assert store.task_statuses(["left", "right"]) == {"left": TaskStatus.SKIPPED, "right": TaskStatus.CANCELLED}
    assert [(e.task_id, e.to_status) for e in store.task_events()][:1] == [("prep", TaskStatus.SKIPPED)]


def test_rerun_detaches_the_finished_attempt_and_blocks_dependents_again(store):
    diamond(store)
    prep = store.get_attempt(store.add_attempts([attempt_for(store, "prep")])[0].attempt_id)
    move(store, prep, AttemptStatus.COMPLETED)
    assert store.waiting_on("left") == 0

    store.reset_tasks(["prep"], "rerun requested by user")

    assert store.task_status("prep") == TaskStatus.PENDING
    assert [t.task_id for t in store.ready_tasks()] == ["prep"]
    assert store.waiting_on("left") == 1
    assert store.next_attempt_index("prep") == 2
    assert [a.attempt_index for a in store.attempts_for_task("prep")] == [1]


def test_task_with_an_active_attempt_cannot_be_reset_or_given_another(store):
    store.add_tasks([Task(task_id="a")])
    store.add_attempts([attempt_for(store, "a")])

    with pytest.raises(StoreError, match="active attempt"):
        store.reset_tasks(["a"], "rerun")
    with pytest.raises(StoreError, match="active attempt"):
        store.add_attempts([attempt_for(store, "a")])
    with pytest.raises(StoreError, match="follows its current attempt"):
        store.set_task_statuses([("a", TaskStatus.SKIPPED, "no")])


def test_attempt_index_must_be_the_next_one(store):
    store.add_tasks([Task(task_id="a")])
    wrong = Attempt(attempt_id="x", task_id="a", run_id=RUN.run_id, attempt_index=2)

    with pytest.raises(StoreError, match="the next one is 1"):
        store.add_attempts([wrong])
    with pytest.raises(StoreError, match="unknown task"):
        store.add_attempts([Attempt(attempt_id="y", task_id="nope", run_id=RUN.run_id, attempt_index=1)])
    assert store.attempts_for_task("a") == []


def test_stale_transition_refuses_the_whole_batch(store):
    store.add_tasks([Task(task_id="a"), Task(task_id="b")])
    store.add_attempts([attempt_for(store, "a"), attempt_for(store, "b")])
    a, b = store.get_attempt("a-1"), store.get_attempt("b-1")
    good = apply_attempt_transition(a, AttemptStatus.RUNNING, "started", T0)
    stale = apply_attempt_transition(b, AttemptStatus.RUNNING, "started", T0)
    store.record_attempt_transitions([stale])

    with pytest.raises(StoreError, match="is RUNNING, but the transition says CREATED"):
        store.record_attempt_transitions([good, stale])

    assert store.get_attempt("a-1").status == AttemptStatus.CREATED
    assert len(store.attempt_events("b-1")) == 2


def test_chained_transitions_in_one_batch_and_their_events(store):
    store.add_tasks([Task(task_id="a"), Task(task_id="after", dependencies={"a"})])
    (created,) = store.add_attempts([attempt_for(store, "a")])
    attempt = store.get_attempt("a-1")
    batch = []
    for status, minutes in ((AttemptStatus.SUBMITTED, 1), (AttemptStatus.RUNNING, 2), (AttemptStatus.FAILED, 3)):
        attempt, event = apply_attempt_transition(
            attempt, status, f"now {status.value}", T0 + timedelta(minutes=minutes), external_id="job-7"
        )
        batch.append((attempt, event))

    store.record_attempt_transitions(batch)

    stored = store.get_attempt("a-1")
    assert stored == attempt
    assert stored.submitted_at == T0 + timedelta(minutes=1) and stored.ended_at == T0 + timedelta(minutes=3)
    assert store.task_status("a") == TaskStatus.FAILED
    assert store.waiting_on("after") == 0
    assert store.attempt_events("a-1") == [created, *(event for _, event in batch)]
    assert store.failed_task_ids(blocking_only=True) == ["a"]
    assert store.active_attempts() == []


def test_transition_of_a_superseded_attempt_leaves_the_task_alone(store):
    store.add_tasks([Task(task_id="a")])
    store.add_attempts([attempt_for(store, "a")])
    first = move(store, store.get_attempt("a-1"), AttemptStatus.FAILED)
    store.add_attempts([attempt_for(store, "a")])
    second = move(store, store.get_attempt("a-2"), AttemptStatus.RUNNING)

    assert store.task_status("a") == TaskStatus.RUNNING
    assert [a.attempt_id for a in store.active_attempts()] == [second.attempt_id]
    assert first.status == AttemptStatus.FAILED


def test_dependents_direct_and_transitive_in_insertion_order(store):
    diamond(store)

    assert store.dependents("prep") == ["left", "right"]
    assert store.dependents("prep", transitive=True) == ["left", "right", "join"]


def test_run_status_changes_and_notes_are_recorded(store):
    store.set_run_status(RunStatus.RUNNING, "first tick")
    store.set_run_status(RunStatus.RUNNING, "again")
    store.record_run_note("campaign analyze() raised KeyError")
    store.record_operator_contact("hpc.dev", ok=False, at=T0, error="ssh: connection refused")
    store.record_operator_contact("hpc.dev", ok=True, at=T0 + timedelta(minutes=5))

    assert store.get_run().status == RunStatus.RUNNING
    assert store.get_run().status_reason == "first tick"
    assert [e.reason for e in store.run_events()] == ["run created", "first tick"]
    assert [n.text for n in store.run_notes()] == ["campaign analyze() raised KeyError"]
    contact = store.operator_contacts()["hpc.dev"]
    assert contact.last_ok_at == T0 + timedelta(minutes=5) and contact.last_error == "ssh: connection refused"


def test_values_are_written_as_iso_utc_text_and_json_never_null(store):
    store.add_tasks([Task(task_id="a")])
    attempt = store.get_attempt(store.add_attempts([attempt_for(store, "a")])[0].attempt_id)
    move(store, attempt, AttemptStatus.SUBMITTED, at=datetime(2027, 1, 1, 13, tzinfo=timezone(timedelta(hours=1))))

    raw = store.db.conn
    assert raw.execute("SELECT created_at FROM runs").fetchone()[0] == "2027-01-01T00:00:00.000000+00:00"
    assert raw.execute("SELECT created_at, submitted_at FROM task_attempts").fetchone() == (
        "2027-01-01T12:00:00.000000+00:00",
        "2027-01-01T12:00:00.000000+00:00",
    )
    assert raw.execute("SELECT download_patterns, files, tags FROM tasks, runs").fetchone() == ("null", "{}", "{}")
    assert raw.execute("SELECT at FROM attempt_events ORDER BY id DESC").fetchone()[0].endswith("+00:00")


def test_ready_and_active_queries_use_their_partial_indexes(store):
    plans = {
        sql: " | ".join(row[3] for row in store.db.conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        for sql in (
            f"SELECT * FROM tasks WHERE {READY_TASK_FILTER} ORDER BY rowid",
            f"SELECT * FROM task_attempts WHERE {ACTIVE_ATTEMPT_FILTER} ORDER BY rowid",
        )
    }
    ready, active = plans.values()

    assert "USING INDEX ix_tasks_ready" in ready and "SCAN tasks" not in ready and "TEMP B-TREE" not in ready
    assert "USING INDEX ix_task_attempts_active" in active and "SCAN" not in active


def test_store_methods_issue_the_indexed_queries(store):
    seen = []
    store.db.conn.set_trace_callback(seen.append)
    store.ready_tasks()
    store.active_attempts()
    store.db.conn.set_trace_callback(None)

    for sql in [s for s in seen if s.startswith("SELECT")]:
        plan = " | ".join(row[3] for row in store.db.conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "SCAN" not in plan, (sql, plan)


def test_closing_removes_wal_files(tmp_path):
    path = tmp_path / "r" / "state.sqlite"
    with StateStore.create(path, RUN) as store:
        store.add_tasks([Task(task_id="a")])
        assert side_files(path) != []

    assert side_files(path) == []
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as connection:
        assert connection.execute("SELECT COUNT(*) FROM tasks").fetchone() == (1,)
