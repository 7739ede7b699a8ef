"""What one tick carries between its phases: the store, the registry, the transitions it
will commit, and the notes it will report."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

import attrs

from matterstack.core.records import Attempt, utc_now
from matterstack.core.status import AttemptStatus
from matterstack.core.transitions import apply_attempt_transition
from matterstack.orchestrator.handle import RunHandle
from matterstack.plugins.interfaces import AttemptContext


@attrs.define
class TickState:
    """Mutable scratchpad of one tick. Nothing here outlives the tick but what it commits."""

    handle: RunHandle
    store: object
    registry: object
    now: datetime = attrs.field(factory=utc_now)
    notes: list[str] = attrs.field(factory=list)
    pending: list = attrs.field(factory=list)
    submitted: int = 0
    finished: int = 0

    def note(self, text: str) -> None:
        """Something the person running ``step`` should read (a missing key, an outage)."""
        self.notes.append(text)

    def outage(self, key: str, exc: Exception, count: int) -> None:
        """An instance could not be reached: nothing changes; remember it for ``explain``."""
        message = exc.one_line() if hasattr(exc, "one_line") else str(exc)
        self.note(f"{key}: {message}; {count} attempt(s) unchanged, will retry")
        self.store.record_operator_contact(key, ok=False, at=self.now, error=message)

    def contact(self, key: str) -> None:
        """An instance answered: remember when, so ``explain`` can say how long ago."""
        self.store.record_operator_contact(key, ok=True, at=self.now)

    def transition(self, attempt: Attempt, status: AttemptStatus, reason: str, **changes) -> Attempt:
        """Queue one attempt transition (checked by the pure rules) for this tick's commit."""
        new, event = apply_attempt_transition(attempt, AttemptStatus(status), reason, self.now, **changes)
        self.pending.append((new, event))
        if new.status.is_terminal:
            self.finished += 1
        return new

    def commit(self, host) -> None:
        """Record every queued transition in one transaction, then tell the observers."""
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        self.store.record_attempt_transitions(batch)
        for _, event in batch:
            host.notify_attempt_transition(event)

    def contexts(self, attempts: list[Attempt]) -> list[AttemptContext]:
        """What operators see of each attempt: its task, token and directories."""
        if not attempts:
            return []
        tasks = self.store.get_tasks([a.task_id for a in attempts])
        return [self.context(a, tasks[a.task_id]) for a in attempts]

    def context(self, attempt: Attempt, task) -> AttemptContext:
        run_dir = self.handle.root_path
        relative = attempt.relative_path or f"tasks/{attempt.task_id}/attempts/{attempt.attempt_id}"
        return AttemptContext(
            attempt_id=attempt.attempt_id,
            task=task,
            run_id=self.handle.run_id,
            run_dir=run_dir,
            attempt_dir=_attempt_dir(run_dir, relative),
            operator_key=attempt.operator_key,
            operator_data=dict(attempt.operator_data),
            external_id=attempt.external_id,
        )


@lru_cache(maxsize=1 << 16)
def _attempt_dir(run_dir: Path, relative: str) -> Path:
    # Every tick builds a context for each active attempt; joining paths is pathlib's slow part.
    return run_dir / relative
