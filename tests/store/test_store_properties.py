"""Random sequences of store writes keep the run's invariants (hypothesis, real SQLite file).

Invariants, checked with plain SQL after every step: attempt indexes are 1..N without gaps;
a task's status follows its current attempt; ``waiting_on`` is the real number of missing or
unfinished dependencies; the ready query returns exactly the tasks that are ready; there is
one event per recorded attempt creation or transition; a refused write changes nothing.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from store_helpers import new_run

from matterstack.core.records import Attempt
from matterstack.core.status import TASK_TERMINAL, AttemptStatus, TaskStatus
from matterstack.core.transitions import apply_attempt_transition, task_status_for_attempt
from matterstack.core.workflow import Task
from matterstack.errors import StoreError, TransitionError
from matterstack.store import StateStore

TASK_IDS = [f"t{i}" for i in range(10)]
RUN = new_run()
T0 = datetime(2027, 1, 1, tzinfo=timezone.utc)


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="ms-store-prop-"))
        self.store = StateStore.create(self.folder / "state.sqlite", RUN)
        self.raw = sqlite3.connect(self.folder / "state.sqlite")
        self.events = 0
        self.clock = 0

    def teardown(self) -> None:
        self.raw.close()
        self.store.close()
        shutil.rmtree(self.folder)

    def now(self) -> datetime:
        self.clock += 1
        return T0 + timedelta(seconds=self.clock)

    def dump(self) -> dict:
        tables = ("tasks", "task_attempts", "attempt_events", "task_events", "task_dependencies")
        return {t: sorted(self.raw.execute(f"SELECT * FROM {t}"), key=repr) for t in tables}

    def attempt(self, write) -> bool:
        """Run one write; a refusal must leave every table exactly as it was."""
        before = self.dump()
        try:
            write()
        except StoreError:
            assert self.dump() == before
            return False
        return True

    def known_tasks(self) -> list[str]:
        return [row[0] for row in self.raw.execute("SELECT task_id FROM tasks ORDER BY rowid")]

    def known_attempts(self) -> list[str]:
        return [row[0] for row in self.raw.execute("SELECT attempt_id FROM task_attempts ORDER BY rowid")]

    @rule(data=st.data(), count=st.integers(1, 3))
    def add_tasks(self, data, count):
        ids = data.draw(st.lists(st.sampled_from(TASK_IDS), min_size=count, max_size=count))
        pool = TASK_IDS + ["ghost"]
        tasks = [
            Task(task_id=task_id, dependencies=set(data.draw(st.lists(st.sampled_from(pool), max_size=3))) - {task_id})
            for task_id in ids
        ]
        self.attempt(lambda: self.store.add_tasks(tasks))

    @precondition(lambda self: self.known_tasks())
    @rule(data=st.data(), index_offset=st.sampled_from([0, 0, 0, 1, -1]), status=st.sampled_from(
        [AttemptStatus.CREATED, AttemptStatus.WAITING_EXTERNAL, AttemptStatus.FAILED_INIT]))
    def add_attempt(self, data, index_offset, status):
        task_id = data.draw(st.sampled_from(self.known_tasks()))
        index = self.store.next_attempt_index(task_id) + index_offset
        attempt = Attempt(
            attempt_id=f"{task_id}-{index}-{self.clock}", task_id=task_id, run_id=RUN.run_id,
            attempt_index=index, status=status, created_at=self.now(),
        )
        if self.attempt(lambda: self.store.add_attempts([attempt])):
            self.events += 1

    @precondition(lambda self: self.known_attempts())
    @rule(data=st.data(), statuses=st.lists(st.sampled_from(list(AttemptStatus)), min_size=1, max_size=3),
          stale=st.booleans())
    def transition(self, data, statuses, stale):
        attempt = self.store.get_attempt(data.draw(st.sampled_from(self.known_attempts())))
        batch = []
        for status in statuses:
            try:
                attempt, event = apply_attempt_transition(attempt, status, f"to {status.value}", self.now())
            except TransitionError:
                break
            batch.append((attempt, event))
        if stale and batch:
            batch = batch + batch[-1:]
        if batch and self.attempt(lambda: self.store.record_attempt_transitions(batch)):
            self.events += len(batch)

    @precondition(lambda self: self.known_tasks())
    @rule(data=st.data(), status=st.sampled_from([TaskStatus.PENDING, TaskStatus.SKIPPED, TaskStatus.CANCELLED]))
    def set_task_status(self, data, status):
        task_id = data.draw(st.sampled_from(self.known_tasks()))
        self.attempt(lambda: self.store.set_task_statuses([(task_id, status, "property test")]))

    @invariant()
    def attempt_indexes_have_no_gaps(self):
        for (task_id,) in self.raw.execute("SELECT task_id FROM tasks"):
            indexes = [r[0] for r in self.raw.execute(
                "SELECT attempt_index FROM task_attempts WHERE task_id = ? ORDER BY attempt_index", (task_id,))]
            assert indexes == list(range(1, len(indexes) + 1))

    @invariant()
    def task_status_follows_current_attempt(self):
        rows = self.raw.execute(
            "SELECT t.status, a.status, a.task_id = t.task_id FROM tasks t"
            " LEFT JOIN task_attempts a ON a.attempt_id = t.current_attempt_id")
        for task_status, attempt_status, same_task in rows:
            if attempt_status is None:
                assert task_status in {"PENDING", "SKIPPED", "CANCELLED"}
            else:
                assert same_task
                assert TaskStatus(task_status) == task_status_for_attempt(AttemptStatus(attempt_status))

    @invariant()
    def waiting_on_counts_unfinished_dependencies_and_ready_is_exact(self):
        status = dict(self.raw.execute("SELECT task_id, status FROM tasks"))
        terminal = {s.value for s in TASK_TERMINAL}
        expected_ready = []
        for task_id, waiting_on, current, task_status in self.raw.execute(
                "SELECT task_id, waiting_on, current_attempt_id, status FROM tasks ORDER BY rowid"):
            deps = [r[0] for r in self.raw.execute(
                "SELECT depends_on FROM task_dependencies WHERE task_id = ?", (task_id,))]
            assert waiting_on == sum(1 for dep in deps if status.get(dep) not in terminal)
            if task_status == "PENDING" and waiting_on == 0 and current is None:
                expected_ready.append(task_id)
        assert [t.task_id for t in self.store.ready_tasks()] == expected_ready

    @invariant()
    def one_event_per_recorded_transition(self):
        assert self.raw.execute("SELECT COUNT(*) FROM attempt_events").fetchone()[0] == self.events


StoreMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_store_invariants_hold_under_random_writes = StoreMachine.TestCase
