"""What one tick carries between its phases: the store, the registry, the transitions it
will commit, and the notes it will report."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from matterstack.core.records import Attempt
from matterstack.core.status import AttemptStatus
from matterstack.core.times import utc_now
from matterstack.core.transitions import apply_attempt_transition
from matterstack.orchestrator.handle import RunHandle
from matterstack.plugins.interfaces import AttemptContext, DeferredTask, RunFolder

if TYPE_CHECKING:
    from matterstack.core.records import AttemptEvent
    from matterstack.core.workflow import Task
    from matterstack.orchestrator.legacy_config import LegacyRunConfig
    from matterstack.orchestrator.operator_registry import OperatorRegistry
    from matterstack.plugins.host import PluginHost
    from matterstack.store import StateStore


@attrs.define
class TickState:
    """Mutable scratchpad of one tick. Nothing here outlives the tick but what it commits."""

    handle: RunHandle
    store: StateStore
    registry: OperatorRegistry
    legacy: LegacyRunConfig | None = None  # the run's 0.2.x config.json, if it has one
    in_job_view: bool = False  # a run begun by 0.2.4: new attempts run in its job view
    now: datetime = attrs.field(factory=utc_now)
    notes: list[str] = attrs.field(factory=list)
    pending: list[tuple[Attempt, AttemptEvent]] = attrs.field(factory=list)
    submitted: int = 0
    finished: int = 0

    def note(self, text: str) -> None:
        """Something the person running ``step`` should read (a missing key, an outage)."""
        self.notes.append(text)

    def outage(self, key: str, exc: Exception, count: int, then: str = "unchanged, will retry") -> None:
        """An instance could not be reached: remember it for ``explain``; ``then`` says what
        becomes of the ``count`` attempts concerned (by default nothing changes)."""
        message = exc.one_line() if hasattr(exc, "one_line") else str(exc)
        self.note(f"{key}: {message}; {count} attempt(s) {then}")
        self.store.record_operator_contact(key, ok=False, at=self.now, error=message)

    def contact(self, key: str) -> None:
        """An instance answered: remember when, so ``explain`` can say how long ago."""
        self.store.record_operator_contact(key, ok=True, at=self.now)

    def transition(self, attempt: Attempt, status: AttemptStatus, reason: str, **changes: Any) -> Attempt:
        """Queue one attempt transition (checked by the pure rules) for this tick's commit."""
        new, event = apply_attempt_transition(attempt, AttemptStatus(status), reason, self.now, **changes)
        self.pending.append((new, event))
        if new.status.is_terminal:
            self.finished += 1
        return new

    def commit(self, host: PluginHost) -> None:
        """Record every queued transition in one transaction, then tell the observers."""
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        self.store.record_attempt_transitions(batch)
        for _, event in batch:
            host.notify_attempt_transition(event)

    def contexts(self, attempts: list[Attempt], *, defer_tasks: bool = False,
                 known: Mapping[str, Task] | None = None) -> list[AttemptContext]:
        """What operators see of each attempt: its task, token and directories.

        Tasks in ``known`` (by id, read earlier in this tick) are not read again. With
        ``defer_tasks`` (polling: an operator seldom needs the task then, and decoding one
        per active attempt would cost every tick of a big run) the tasks are read together
        the first time an operator asks for one of them.
        """
        if not attempts:
            return []
        if not defer_tasks:
            known = known or {}
            missing = [a.task_id for a in attempts if a.task_id not in known]
            tasks = {**known, **self.store.get_tasks(missing)} if missing else known
            return [self.context(a, tasks[a.task_id]) for a in attempts]
        tasks = _TasksOnDemand(self.store, self.handle.db_path, [a.task_id for a in attempts])
        return [self.context(a, DeferredTask(partial(tasks.get, a.task_id))) for a in attempts]

    def context(self, attempt: Attempt, task: Task | DeferredTask) -> AttemptContext:
        run_dir = self.handle.root_path
        relative = attempt.relative_path or f"tasks/{attempt.task_id}/attempts/{attempt.attempt_id}"
        # Positional: a tick builds one per active attempt, and keywords cost attrs' __init__ 40% more.
        return AttemptContext(attempt.attempt_id, task, self.handle.run_id, run_dir, RunFolder(run_dir, relative),
                              attempt.operator_key, dict(attempt.operator_data), attempt.external_id)


class _TasksOnDemand:
    """The tasks of a batch of attempts, read in one query on the first request.

    The tick's connection serves the thread that made the batch; an operator reading a task
    from a worker thread of its own gets it through a read-only connection of that thread.
    """

    def __init__(self, store: StateStore, db_path: Path, task_ids: list[str]):
        self._store = store
        self._db_path = db_path
        self._task_ids = task_ids
        self._owner = threading.get_ident()
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] | None = None

    def get(self, task_id: str) -> Task:
        with self._lock:
            if self._tasks is None:
                self._tasks = self._read()
            return self._tasks[task_id]

    def _read(self) -> dict[str, Task]:
        if threading.get_ident() == self._owner:
            return self._store.get_tasks(self._task_ids)
        from matterstack.store import StateStore

        other = StateStore.open(self._db_path, readonly=True)
        try:
            return other.get_tasks(self._task_ids)
        finally:
            other.close()
