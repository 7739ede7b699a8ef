"""Attempts in the state store: creation, batched transitions with their event log.

Every write here keeps three invariants: a task's attempt indexes are 1..N without gaps, a
task's status follows its current attempt, and every attempt transition appends exactly one
row to ``attempt_events``.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Iterator, Sequence

import attrs

from matterstack.core.records import Attempt, AttemptEvent
from matterstack.core.status import AttemptStatus, TaskStatus
from matterstack.core.times import utc_now
from matterstack.core.transitions import task_status_for_attempt
from matterstack.errors import StoreError
from matterstack.store.database import IDS_PARAMETER, ids_parameter
from matterstack.store.rows import attempt_from_row, attempt_from_values, attempt_values, event_from_row, event_values
from matterstack.store.schema import ACTIVE_ATTEMPT_FILTER, ATTEMPT_COLUMNS, EVENT_COLUMNS
from matterstack.store.tasks import TaskQueries

_SELECT_ATTEMPTS = f"SELECT {', '.join(ATTEMPT_COLUMNS)} FROM task_attempts"
_INSERT_EVENT = (
    f"INSERT INTO attempt_events ({', '.join(EVENT_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
)
_TASK_ID, _INDEX = ATTEMPT_COLUMNS.index("task_id") + 1, ATTEMPT_COLUMNS.index("attempt_index") + 1
# Inserts nothing unless the index is the task's next one and its current attempt is finished;
# the caller compares the row count, so the checks cost no round trip through Python.
_GUARDED_INSERT = (
    f"INSERT INTO task_attempts ({', '.join(ATTEMPT_COLUMNS)})"
    f" SELECT {', '.join(f'?{i}' for i in range(1, len(ATTEMPT_COLUMNS) + 1))}"
    f" WHERE EXISTS (SELECT 1 FROM tasks WHERE task_id = ?{_TASK_ID})"
    f" AND ?{_INDEX} = (SELECT COALESCE(MAX(attempt_index), 0) + 1 FROM task_attempts WHERE task_id = ?{_TASK_ID})"
    " AND NOT EXISTS (SELECT 1 FROM tasks t JOIN task_attempts c ON c.attempt_id = t.current_attempt_id"
    f" WHERE t.task_id = ?{_TASK_ID} AND c.{ACTIVE_ATTEMPT_FILTER})"
)
_MUTABLE = [column for column in ATTEMPT_COLUMNS if column not in ("attempt_id", "task_id", "run_id", "attempt_index")]
# Changes nothing unless the stored attempt is still in the event's from_status.
_GUARDED_UPDATE = (
    f"UPDATE task_attempts SET {', '.join(f'{column} = ?' for column in _MUTABLE)}"
    " WHERE attempt_id = ? AND task_id = ? AND attempt_index = ? AND status = ?"
)
_mutable_values = operator.itemgetter(*(ATTEMPT_COLUMNS.index(column) for column in _MUTABLE))
_TASK_VIEW = {status: task_status_for_attempt(status).value for status in AttemptStatus}


class _Refused(Exception):
    """A guarded write matched fewer rows than asked: roll back, then say why."""


class AttemptQueries(TaskQueries):
    """The attempt half of :class:`~matterstack.store.StateStore`."""

    def add_attempts(self, attempts: Iterable[Attempt]) -> list[AttemptEvent]:
        """Record new attempts in one transaction; each becomes its task's current attempt.

        Each attempt's index must be the next one of its task, and the task's current
        attempt must be finished (or absent). The task takes the status the attempt implies,
        and one creation event per attempt (``from_status`` None) is appended and returned.
        A ``created_at`` of None is set to now. Anything inconsistent refuses the batch.
        """
        now = utc_now()
        attempts = [a if a.created_at is not None else attrs.evolve(a, created_at=now) for a in attempts]
        if not attempts:
            return []
        events = [
            AttemptEvent(
                attempt_id=a.attempt_id,
                task_id=a.task_id,
                run_id=a.run_id,
                from_status=None,
                to_status=a.status,
                reason=a.status_reason or "attempt created",
                at=a.created_at,
            )
            for a in attempts
        ]
        try:
            with self._transaction() as connection:
                inserted = connection.executemany(_GUARDED_INSERT, map(attempt_values, attempts)).rowcount
                if inserted != len(attempts) or self._active_twice_or_foreign(attempts):
                    raise _Refused
                connection.executemany(
                    "UPDATE tasks SET current_attempt_id = ?, status = ? WHERE task_id = ?",
                    [(a.attempt_id, _TASK_VIEW[a.status], a.task_id) for a in attempts],
                )
                connection.executemany(_INSERT_EVENT, map(event_values, events))
        except _Refused:
            raise self._why_attempts_refused(attempts) from None
        return events

    def _active_twice_or_foreign(self, attempts: list[Attempt]) -> bool:
        # The guarded insert sees the database before this batch's task updates, so a task
        # given two attempts in one batch is checked here.
        seen: dict[str, Attempt] = {}
        for attempt in attempts:
            earlier = seen.get(attempt.task_id)
            if attempt.run_id != self.run_id or (earlier is not None and not earlier.status.is_terminal):
                return True
            seen[attempt.task_id] = attempt
        return False

    def _why_attempts_refused(self, attempts: list[Attempt]) -> StoreError:
        state = {
            row["task_id"]: row
            for row in self._select(
                "SELECT t.task_id, t.current_attempt_id, a.status AS attempt_status,"
                " (SELECT MAX(x.attempt_index) FROM task_attempts x WHERE x.task_id = t.task_id)"
                " AS last_index FROM tasks t"
                " LEFT JOIN task_attempts a ON a.attempt_id = t.current_attempt_id"
                f" WHERE t.task_id IN {IDS_PARAMETER}",
                (ids_parameter({a.task_id for a in attempts}),),
            )
        }
        for attempt in attempts:
            row = state.get(attempt.task_id)
            if row is None:
                return self._refuse(f"attempt {attempt.attempt_id} names unknown task {attempt.task_id!r}",
                                    "add the task before its attempts")
            if attempt.run_id != self.run_id:
                return self._refuse(f"attempt {attempt.attempt_id} belongs to run {attempt.run_id}",
                                    "record attempts in their own run's database")
            expected = (row["last_index"] or 0) + 1
            if attempt.attempt_index != expected:
                return self._refuse(
                    f"attempt {attempt.attempt_id} of task {attempt.task_id!r} has index "
                    f"{attempt.attempt_index}, the next one is {expected}",
                    "use next_attempt_index(task_id)",
                )
            if row["attempt_status"] is not None and not AttemptStatus(row["attempt_status"]).is_terminal:
                return self._refuse(
                    f"task {attempt.task_id!r} already has an active attempt {row['current_attempt_id']}"
                    f" ({row['attempt_status']})",
                    "wait for it to finish or cancel it before creating another",
                )
            row.update(last_index=attempt.attempt_index, current_attempt_id=attempt.attempt_id,
                       attempt_status=attempt.status.value)
        return self._refuse("the batch of new attempts changed while it was written", "try again")

    def record_attempt_transitions(self, transitions: Sequence[tuple[Attempt, AttemptEvent]]) -> None:
        """Store new attempt values and their events in one transaction.

        Each pair is the attempt as it is now and the event that took it there; the event's
        ``from_status`` must be the stored status (transitions of one attempt may be chained
        within the batch). When the attempt is its task's current one, the task's status
        follows it. Anything inconsistent refuses the whole batch.
        """
        if not transitions:
            return
        for attempt, event in transitions:
            if not (
                event.attempt_id == attempt.attempt_id
                and event.task_id == attempt.task_id
                and event.to_status is attempt.status
                and event.from_status is not None
            ):
                raise self._refuse(
                    f"event {event.from_status} -> {event.to_status} does not describe attempt "
                    f"{attempt.attempt_id} ({attempt.status.value})",
                    "build both with matterstack.core.transitions.apply_attempt_transition",
                )
        updates = [
            (*_mutable_values(attempt_values(a)), a.attempt_id, a.task_id, a.attempt_index, e.from_status.value)
            for a, e in transitions
        ]
        try:
            with self._transaction() as connection:
                if connection.executemany(_GUARDED_UPDATE, updates).rowcount != len(updates):
                    raise _Refused
                connection.executemany(_INSERT_EVENT, [event_values(e) for _, e in transitions])
                view = [_TASK_VIEW[a.status] for a, _ in transitions]
                connection.executemany(
                    "UPDATE tasks SET status = ? WHERE task_id = ? AND current_attempt_id = ? AND status != ?",
                    [(status, a.task_id, a.attempt_id, status) for status, (a, _) in zip(view, transitions)],
                )
        except _Refused:
            raise self._why_transitions_refused(transitions) from None

    def _why_transitions_refused(self, transitions: Sequence[tuple[Attempt, AttemptEvent]]) -> StoreError:
        stored = {
            row["attempt_id"]: row
            for row in self._select(
                f"SELECT attempt_id, task_id, attempt_index, status FROM task_attempts"
                f" WHERE attempt_id IN {IDS_PARAMETER}",
                (ids_parameter({a.attempt_id for a, _ in transitions}),),
            )
        }
        for attempt, event in transitions:
            row = stored.get(attempt.attempt_id)
            if row is None:
                return self._refuse(f"no attempt {attempt.attempt_id} in this run", "add_attempts() first")
            if (row["task_id"], row["attempt_index"]) != (attempt.task_id, attempt.attempt_index):
                return self._refuse(
                    f"attempt {attempt.attempt_id} is attempt {row['attempt_index']} of task {row['task_id']!r},"
                    f" not {attempt.attempt_index} of {attempt.task_id!r}",
                    "re-read the attempt before changing it",
                )
            if row["status"] != event.from_status.value:
                return self._refuse(
                    f"attempt {attempt.attempt_id} is {row['status']}, but the transition says "
                    f"{event.from_status.value} -> {event.to_status.value}",
                    "re-read the attempt and compute the transition from its stored status",
                )
            row["status"] = attempt.status.value
        return self._refuse("the batch of attempt transitions changed while it was written", "try again")

    def next_attempt_index(self, task_id: str) -> int:
        """The index the next attempt of ``task_id`` must have (1 for the first)."""
        rows = self._select(
            "SELECT COALESCE(MAX(attempt_index), 0) + 1 AS next FROM task_attempts WHERE task_id = ?",
            (task_id,),
        )
        return rows[0]["next"]

    def next_attempt_slots(self, task_ids: Iterable[str]) -> dict[str, tuple[int, str | None]]:
        """Each task's :meth:`next_attempt_index` and the id of its latest attempt (None
        before the first), for many tasks in one query: what a new attempt's index and name
        follow."""
        rows = self._iter_values(
            "SELECT value, (SELECT COALESCE(MAX(attempt_index), 0) + 1 FROM task_attempts WHERE task_id = value),"
            " (SELECT attempt_id FROM task_attempts WHERE task_id = value ORDER BY attempt_index DESC LIMIT 1)"
            " FROM json_each(?)",
            (ids_parameter(task_ids),),
        )
        return {task_id: (index, latest) for task_id, index, latest in rows}

    def taken_attempt_ids(self, attempt_ids: Iterable[str]) -> set[str]:
        """Those of ``attempt_ids`` that name an attempt already (the table's primary key)."""
        rows = self._iter_values(
            f"SELECT attempt_id FROM task_attempts WHERE attempt_id IN {IDS_PARAMETER}",
            (ids_parameter(attempt_ids),),
        )
        return {attempt_id for (attempt_id,) in rows}

    def get_attempt(self, attempt_id: str) -> Attempt:
        """The attempt ``attempt_id``; :class:`StoreError` if there is none."""
        rows = self._select(f"{_SELECT_ATTEMPTS} WHERE attempt_id = ?", (attempt_id,))
        if not rows:
            raise self._refuse(f"no attempt {attempt_id} in this run",
                               "`matterstack attempts <run> <task>` lists a task's attempts")
        return attempt_from_row(rows[0])

    def attempts_for_task(self, task_id: str) -> list[Attempt]:
        """Every attempt of one task, by ``attempt_index``."""
        rows = self._iter_select(f"{_SELECT_ATTEMPTS} WHERE task_id = ? ORDER BY attempt_index", (task_id,))
        return [attempt_from_row(row) for row in rows]

    def iter_attempts(self) -> Iterator[Attempt]:
        """Every attempt of the run, by task (``rowid`` order) then index."""
        rows = self._iter_select(
            f"SELECT {', '.join(f'a.{column}' for column in ATTEMPT_COLUMNS)} FROM tasks t"
            " JOIN task_attempts a ON a.task_id = t.task_id ORDER BY t.rowid, a.attempt_index"
        )
        for row in rows:
            yield attempt_from_row(row)

    def active_attempts(self) -> list[Attempt]:
        """Attempts that are not finished (CREATED, SUBMITTED, WAITING_EXTERNAL, RUNNING)."""
        rows = self._iter_values(f"{_SELECT_ATTEMPTS} WHERE {ACTIVE_ATTEMPT_FILTER} ORDER BY rowid")
        return [self._decoded.attempt(values) for values in rows]

    def active_attempt_counts(self) -> dict[str | None, int]:
        """How many attempts are not finished, by ``operator_key`` column (None: not recorded)."""
        rows = self._iter_values(
            f"SELECT operator_key, COUNT(*) FROM task_attempts WHERE {ACTIVE_ATTEMPT_FILTER} GROUP BY operator_key"
        )
        return dict(rows)

    def has_active_attempts(self) -> bool:
        """Whether any attempt is not finished (what ``active_attempt_counts`` says, without counting)."""
        sql = f"SELECT EXISTS (SELECT 1 FROM task_attempts WHERE {ACTIVE_ATTEMPT_FILTER})"
        return bool(self.db.conn.execute(sql).fetchone()[0])

    def holds_external_runs(self) -> bool:
        """Whether MatterStack 0.2.4 ran jobs of this run (its ``external_runs`` rows)."""
        return bool(self.db.conn.execute("SELECT EXISTS (SELECT 1 FROM external_runs)").fetchone()[0])

    def task_histories(self) -> Iterator[tuple[str, list[Attempt]]]:
        """``(task_id, its attempts by index)`` for every task, in ``rowid`` order, read in one
        query (the evidence of a run of a million tasks asked for one task at a time)."""
        rows = self._iter_values(
            f"SELECT t.task_id, {', '.join(f'a.{column}' for column in ATTEMPT_COLUMNS)} FROM tasks t"
            " LEFT JOIN task_attempts a ON a.task_id = t.task_id ORDER BY t.rowid, a.attempt_index")
        for task_id, group in itertools.groupby(rows, key=operator.itemgetter(0)):
            yield task_id, [attempt_from_values(row[1:]) for row in group if row[1] is not None]

    def current_attempt_counts(self) -> list[tuple[str | None, str, int]]:
        """``(operator_key column, status, how many)`` of the tasks' current attempts, counted
        in one query (the monitor's table of instances, whatever the size of the run)."""
        return list(self._iter_values(
            "SELECT a.operator_key, a.status, COUNT(*) FROM tasks t"
            " JOIN task_attempts a ON a.attempt_id = t.current_attempt_id GROUP BY a.operator_key, a.status"))

    def tasks_with_current_attempts(self) -> Iterator[tuple[str, TaskStatus, Attempt | None]]:
        """``(task_id, status, current attempt or None)`` for every task, in ``rowid`` order."""
        current = {
            values[0]: self._decoded.attempt(values)
            for values in self._iter_values(
                f"SELECT {', '.join(f'a.{column}' for column in ATTEMPT_COLUMNS)} FROM tasks t"
                " JOIN task_attempts a ON a.attempt_id = t.current_attempt_id"
            )
        }
        for row in self._iter_select("SELECT task_id, status, current_attempt_id FROM tasks ORDER BY rowid"):
            yield row["task_id"], TaskStatus(row["status"]), current.get(row["current_attempt_id"])

    def attempt_events(self, attempt_id: str | None = None) -> list[AttemptEvent]:
        """The transition log, oldest first; of one attempt when ``attempt_id`` is given."""
        sql = f"SELECT {', '.join(EVENT_COLUMNS)} FROM attempt_events"
        rows = (
            self._iter_select(f"{sql} WHERE attempt_id = ? ORDER BY id", (attempt_id,))
            if attempt_id is not None
            else self._iter_select(f"{sql} ORDER BY id")
        )
        return [event_from_row(row) for row in rows]
