"""Tasks in the state store: adding, reading, the ready query and the ``waiting_on`` counter.

``tasks.waiting_on`` counts a task's dependencies that are missing or not yet terminal; it is
set when a task is added and then kept exact by a trigger on ``tasks.status`` (see
:data:`~matterstack.store.schema.WAITING_ON_TRIGGER`). So "ready" (PENDING, no current
attempt, ``waiting_on = 0``) is one partial-index lookup whose cost grows with the number of
ready tasks, not with the size of the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from matterstack.core.status import AttemptStatus, TaskStatus
from matterstack.core.times import datetime_from_text, datetime_to_text, utc_now
from matterstack.core.workflow import Task
from matterstack.store.database import IDS_PARAMETER, StoreDatabase, ids_parameter
from matterstack.store.rows import task_from_row, task_from_values, task_values
from matterstack.store.schema import READY_TASK_FILTER, TASK_COLUMNS, TERMINAL_TASK_STATUSES

if TYPE_CHECKING:  # loaded when the events are read
    from matterstack.store.history import TaskEvent

_SELECT_TASKS = f"SELECT {', '.join(TASK_COLUMNS)} FROM tasks"


class TaskQueries(StoreDatabase):
    """The task half of :class:`~matterstack.store.StateStore`."""

    def add_tasks(self, tasks: Iterable[Task]) -> None:
        """Add new tasks, PENDING, in one transaction (a task id already present: nothing added).

        Dependencies may name tasks of earlier batches, of this batch, or not yet added ones.
        """
        tasks = list(tasks)
        if not tasks:
            return
        columns = (*TASK_COLUMNS, "run_id", "status", "waiting_on")
        encoded = [task_values(task) for task in tasks]
        dependencies = [(task.task_id, dep) for task in tasks for dep in sorted(task.dependencies)]
        batch = {task.task_id for task in tasks}
        earlier = {dep for task in tasks for dep in task.dependencies if dep not in batch}
        with self._transaction() as connection:
            # The batch's own tasks are PENDING, so only dependencies on earlier tasks can be
            # finished already: counted here rather than by an UPDATE over every new row,
            # which took as long as inserting them (a plan may hand over 100,000 at once).
            finished = {
                task_id for (task_id,) in connection.execute(
                    f"SELECT task_id FROM tasks WHERE task_id IN {IDS_PARAMETER}"
                    f" AND status IN {TERMINAL_TASK_STATUSES}", (ids_parameter(earlier),))
            } if earlier else set()
            connection.executemany(
                f"INSERT INTO tasks ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [(*values, self.run_id, TaskStatus.PENDING.value, sum(dep not in finished for dep in task.dependencies))
                 for values, task in zip(encoded, tasks)],
            )
            connection.executemany(
                "INSERT OR IGNORE INTO task_dependencies (task_id, depends_on) VALUES (?, ?)",
                dependencies,
            )

    def get_task(self, task_id: str) -> Task:
        """The task ``task_id``; :class:`StoreError` if the run has no such task."""
        rows = self._select(f"{_SELECT_TASKS} WHERE task_id = ?", (task_id,))
        if not rows:
            raise self._refuse(f"no task {task_id!r} in this run", "`matterstack status` lists the tasks")
        return task_from_row(rows[0])

    def get_tasks(self, task_ids: Iterable[str]) -> dict[str, Task]:
        """``{task_id: Task}`` for those of ``task_ids`` that exist."""
        # A task's definition changes only by a rerun with new resources, which makes the task
        # ready again (ready_tasks then drops what was kept of it): each is read and decoded
        # once per open store (the tick asks for the task of every active attempt on every pass).
        found, missing = {}, []
        for task_id in task_ids:
            task = self._decoded.known_task(task_id)
            if task is None:
                missing.append(task_id)
            else:
                found[task_id] = task
        if missing:
            rows = self._iter_values(f"{_SELECT_TASKS} WHERE task_id IN {IDS_PARAMETER}", (ids_parameter(missing),))
            found.update((values[0], self._decoded.task(values)) for values in rows)
        return found

    def iter_tasks(self) -> Iterator[Task]:
        """Every task, in the order it was added (``rowid``)."""
        for values in self._iter_values(f"{_SELECT_TASKS} ORDER BY rowid"):
            yield task_from_values(values)

    def task_ids(self) -> set[str]:
        """The ids of every task of the run."""
        return {row["task_id"] for row in self._iter_select("SELECT task_id FROM tasks")}

    def task_status(self, task_id: str) -> TaskStatus:
        """The status of one task."""
        rows = self._select("SELECT status FROM tasks WHERE task_id = ?", (task_id,))
        if not rows:
            raise self._refuse(f"no task {task_id!r} in this run", "`matterstack status` lists the tasks")
        return TaskStatus(rows[0]["status"])

    def task_statuses(self, task_ids: Iterable[str] | None = None) -> dict[str, TaskStatus]:
        """``{task_id: status}`` of every task (in ``rowid`` order), or of ``task_ids`` only."""
        if task_ids is None:
            rows = self._iter_select("SELECT task_id, status FROM tasks ORDER BY rowid")
        else:
            rows = self._iter_select(
                f"SELECT task_id, status FROM tasks WHERE task_id IN {IDS_PARAMETER}",
                (ids_parameter(task_ids),),
            )
        return {row["task_id"]: TaskStatus(row["status"]) for row in rows}

    def task_commands(self) -> Iterator[tuple[str, str, str]]:
        """``(task_id, image, command)`` of every task, in ``rowid`` order, without decoding
        the tasks (the 0.2.x keys of the evidence bundle name nothing else)."""
        yield from self._iter_values("SELECT task_id, image, command FROM tasks ORDER BY rowid")

    def unfinished_tasks(self) -> Iterator[tuple[str, str, int]]:
        """``(task_id, status, waiting_on)`` of every task not finished, in ``rowid`` order
        (the status as stored; ``waiting_on``: its dependencies not finished or missing), read
        in one pass: what ``explain`` says of a run of a million tasks."""
        yield from self._iter_values(
            f"SELECT task_id, status, waiting_on FROM tasks WHERE status NOT IN {TERMINAL_TASK_STATUSES}"
            " ORDER BY rowid")

    def unfinished_dependencies(self, task_ids: Iterable[str] | None = None) -> dict[str, list[tuple[str, str]]]:
        """For each unfinished task (of ``task_ids``, or all), ``(dependency id, status)`` of
        its dependencies that are not finished either, in one query."""
        sql = ("SELECT d.task_id, d.depends_on, dep.status FROM task_dependencies d"
               " JOIN tasks t ON t.task_id = d.task_id JOIN tasks dep ON dep.task_id = d.depends_on"
               f" WHERE t.status NOT IN {TERMINAL_TASK_STATUSES} AND dep.status NOT IN {TERMINAL_TASK_STATUSES}")
        rows = (self._iter_values(sql) if task_ids is None
                else self._iter_values(f"{sql} AND d.task_id IN {IDS_PARAMETER}", (ids_parameter(task_ids),)))
        found: dict[str, list[tuple[str, str]]] = {}
        for task_id, depends_on, status in rows:
            found.setdefault(task_id, []).append((depends_on, status))
        return found

    def count_tasks_by_status(self) -> dict[TaskStatus, int]:
        """How many tasks have each status (statuses with no task are left out)."""
        rows = self._iter_select("SELECT status, COUNT(*) AS n FROM tasks GROUP BY status")
        return {TaskStatus(row["status"]): row["n"] for row in rows}

    def ready_tasks(self, limit: int | None = None) -> list[Task]:
        """PENDING tasks with no current attempt whose dependencies have all finished.

        In ``rowid`` order. "Finished" includes FAILED, CANCELLED and SKIPPED: whether such a
        task runs or is skipped is the scheduler's decision, not the store's.
        """
        sql = f"{_SELECT_TASKS} WHERE {READY_TASK_FILTER} ORDER BY rowid"
        params: tuple[int, ...] = ()
        if limit is not None:
            sql, params = f"{sql} LIMIT ?", (limit,)
        tasks = [task_from_values(values) for values in self._iter_values(sql, params)]
        # Another process may have changed a ready task's resources (rerun): forget the kept copy.
        self._decoded.forget_tasks(task.task_id for task in tasks)
        return tasks

    def dependents(self, task_id: str, *, transitive: bool = False) -> list[str]:
        """Tasks that depend on ``task_id`` (directly, or at any depth), in ``rowid`` order."""
        found: set[str] = set()
        frontier = [task_id]
        while frontier:
            rows = self._select(
                f"SELECT task_id FROM task_dependencies WHERE depends_on IN {IDS_PARAMETER}",
                (ids_parameter(frontier),),
            )
            frontier = [row["task_id"] for row in rows if row["task_id"] not in found]
            found.update(frontier)
            if not transitive:
                break
        found.discard(task_id)
        rows = self._select(
            f"SELECT task_id FROM tasks WHERE task_id IN {IDS_PARAMETER} ORDER BY rowid",
            (ids_parameter(found),),
        )
        return [row["task_id"] for row in rows]

    def failed_task_ids(self, *, blocking_only: bool = False) -> list[str]:
        """FAILED tasks in ``rowid`` order; with ``blocking_only``, those without ``allow_failure``."""
        return self._task_ids_ended(TaskStatus.FAILED, blocking_only)

    def cancelled_task_ids(self, *, blocking_only: bool = False) -> list[str]:
        """CANCELLED tasks in ``rowid`` order; with ``blocking_only``, those without
        ``allow_failure`` (which covers a cancelled task too, as in 0.2.x)."""
        return self._task_ids_ended(TaskStatus.CANCELLED, blocking_only)

    def _task_ids_ended(self, status: TaskStatus, blocking_only: bool) -> list[str]:
        sql = "SELECT task_id FROM tasks WHERE status = ?"
        if blocking_only:
            sql += " AND NOT allow_failure"
        return [row["task_id"] for row in self._iter_select(f"{sql} ORDER BY rowid", (status.value,))]

    def waiting_on(self, task_id: str) -> int:
        """How many dependencies of ``task_id`` are missing or unfinished (the stored counter)."""
        rows = self._select("SELECT waiting_on FROM tasks WHERE task_id = ?", (task_id,))
        if not rows:
            raise self._refuse(f"no task {task_id!r} in this run", "`matterstack status` lists the tasks")
        return rows[0]["waiting_on"]

    def set_task_statuses(self, changes: Iterable[tuple[str, TaskStatus, str]]) -> None:
        """Set task statuses directly, each with a reason, in one transaction.

        For tasks whose status does not follow an attempt: SKIPPED or CANCELLED before any
        attempt, or PENDING to run a finished task again. A task set back to PENDING is
        detached from its (finished) current attempt, which stays in its history, so it is
        ready again once its dependencies are. A task whose current attempt is still active,
        or a status other than PENDING for a task with an attempt, is refused: that status
        follows the attempt. Unchanged statuses are skipped.
        """
        changes = [(task_id, TaskStatus(status), reason) for task_id, status, reason in changes]
        if not changes:
            return
        now = datetime_to_text(utc_now())
        with self._transaction() as connection:
            state = {
                row["task_id"]: row
                for row in self._select(
                    "SELECT t.task_id, t.status, t.current_attempt_id, a.status AS attempt_status"
                    " FROM tasks t LEFT JOIN task_attempts a ON a.attempt_id = t.current_attempt_id"
                    f" WHERE t.task_id IN {IDS_PARAMETER}",
                    (ids_parameter(task_id for task_id, _, _ in changes),),
                )
            }
            applied = []
            events, detached = [], []
            for task_id, status, reason in changes:
                row = state.get(task_id)
                if row is None:
                    raise self._refuse(f"no task {task_id!r} in this run", "check the task id")
                if not reason:
                    raise self._refuse(f"no reason given for setting task {task_id!r} {status.value}",
                                       "every status change records a reason")
                old = TaskStatus(row["status"])
                if status == old:
                    continue
                self._check_detachable(task_id, status, row)
                if row["current_attempt_id"] is not None:
                    detached.append((task_id,))
                    row["current_attempt_id"] = None
                row["status"] = status.value
                applied.append((status.value, task_id))
                events.append((self.run_id, task_id, old.value, status.value, reason, now))
            connection.executemany("UPDATE tasks SET current_attempt_id = NULL WHERE task_id = ?", detached)
            connection.executemany("UPDATE tasks SET status = ? WHERE task_id = ?", applied)
            connection.executemany(
                "INSERT INTO task_events (run_id, task_id, from_status, to_status, reason, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                events,
            )

    def _check_detachable(self, task_id: str, status: TaskStatus, row: dict) -> None:
        attempt_id = row["current_attempt_id"]
        if attempt_id is None:
            return
        if status != TaskStatus.PENDING:
            raise self._refuse(
                f"task {task_id!r} follows its current attempt {attempt_id}; cannot set it {status.value}",
                "record a transition of the attempt instead (e.g. cancel it)",
            )
        if row["attempt_status"] is not None and not AttemptStatus(row["attempt_status"]).is_terminal:
            raise self._refuse(
                f"task {task_id!r} has an active attempt {attempt_id} ({row['attempt_status']})",
                "cancel the attempt before running the task again",
            )

    def reset_tasks(self, task_ids: Iterable[str], reason: str) -> None:
        """Set tasks back to PENDING (rerun, revive); see :meth:`set_task_statuses`."""
        self.set_task_statuses([(task_id, TaskStatus.PENDING, reason) for task_id in task_ids])

    def task_events(self, task_id: str | None = None) -> list[TaskEvent]:
        """Direct task status changes (:meth:`set_task_statuses`), oldest first."""
        from matterstack.store.history import TaskEvent

        sql = "SELECT task_id, from_status, to_status, reason, at FROM task_events"
        rows = (
            self._select(f"{sql} WHERE task_id = ? ORDER BY id", (task_id,))
            if task_id is not None
            else self._select(f"{sql} ORDER BY id")
        )
        return [
            TaskEvent(
                task_id=row["task_id"],
                from_status=TaskStatus(row["from_status"]),
                to_status=TaskStatus(row["to_status"]),
                reason=row["reason"],
                at=datetime_from_text(row["at"]),
            )
            for row in rows
        ]
