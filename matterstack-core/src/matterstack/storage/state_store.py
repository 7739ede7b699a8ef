"""``SQLiteStateStore``: MatterStack 0.2.x's store class, for scripts that read a run.

It answers the reading methods 0.2.x scripts used, with 0.2.x's return values (statuses as
plain strings, ``None`` for what is missing), from :class:`matterstack.store.StateStore`
opened read-only: nothing is ever written, not even a migration of an old file. Changing a
run goes through the commands (``pause``, ``cancel``, ``rerun``, ``reset-run``, ...), which
take the run lock; 0.2.x's writing methods raise :class:`~matterstack.errors.StoreError`
naming them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matterstack.core.records import Attempt
from matterstack.core.workflow import Task
from matterstack.errors import StoreError
from matterstack.orchestrator.handle import RunHandle
from matterstack.store import StateStore

__all__ = ["SQLiteStateStore"]

_CHANGED_THROUGH_COMMANDS = {
    "create_run": "`matterstack init` or matterstack.initialize_run",
    "add_workflow": "the campaign's plan()",
    "set_run_status": "`matterstack pause|resume|cancel|revive RUN`",
    "update_task_status": "`matterstack rerun|reset-run RUN TASK`",
    "delete_task": "`matterstack reset-run RUN TASK --action delete`",
    "create_attempt": "`matterstack rerun RUN TASK`",
    "update_attempt": "`matterstack cancel-attempt RUN ATTEMPT`",
    "mark_attempts_failed_init": "`matterstack cleanup-orphans --run-id RUN --confirm`",
    "lock": "matterstack.store.RunLock(run_dir)",
}


class SQLiteStateStore:
    """A run's ``state.sqlite`` read as 0.2.x's scripts read it; see the module docstring."""

    def __init__(self, db_path: Path | str):
        self.db_path = Path(db_path)

    def _open(self) -> StateStore:
        return StateStore.open(self.db_path, readonly=True)

    def get_run(self, run_id: str) -> RunHandle | None:
        """The run's handle, or ``None`` if this database holds another run."""
        with self._open() as store:
            run = store.get_run()
        if run.run_id != run_id:
            return None
        return RunHandle(run_id=run.run_id, workspace_slug=run.workspace_slug, root_path=self.db_path.parent)

    def get_run_status(self, run_id: str) -> str | None:
        """``"PENDING"``, ``"RUNNING"``, ``"PAUSED"``, ``"COMPLETED"``, ``"FAILED"`` or ``"CANCELLED"``."""
        with self._open() as store:
            run = store.get_run()
        return run.status.value if run.run_id == run_id else None

    def get_run_status_reason(self, run_id: str) -> str | None:
        """Why the run has its status (a failed run's error), if recorded."""
        with self._open() as store:
            run = store.get_run()
        return run.status_reason if run.run_id == run_id else None

    def get_tasks(self, run_id: str) -> list[Task]:
        """The run's tasks, in the order they were added."""
        with self._open() as store:
            if store.get_run().run_id != run_id:
                return []
            return list(store.iter_tasks())

    def get_task_status(self, task_id: str) -> str | None:
        """The task's status as a string, or ``None`` if the run has no such task."""
        with self._open() as store:
            status = store.task_statuses([task_id]).get(task_id)
        return status.value if status is not None else None

    def list_attempts(self, task_id: str) -> list[Attempt]:
        """The task's attempts by ``attempt_index`` (0.2.x's attempt columns, as attributes)."""
        with self._open() as store:
            return store.attempts_for_task(task_id)

    def get_current_attempt(self, task_id: str) -> Attempt | None:
        """The task's current attempt, or ``None`` if it has none."""
        with self._open() as store:
            for found_id, _status, attempt in store.tasks_with_current_attempts():
                if found_id == task_id:
                    return attempt
        return None

    def get_attempt(self, attempt_id: str) -> Attempt | None:
        """The attempt ``attempt_id``, or ``None`` if the run has none of that id."""
        with self._open() as store:
            try:
                return store.get_attempt(attempt_id)
            except StoreError:
                return None

    def __getattr__(self, name: str) -> Any:
        if name not in _CHANGED_THROUGH_COMMANDS:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

        def refused(*args: Any, **kwargs: Any) -> Any:
            raise StoreError(f"SQLiteStateStore.{name} is not offered: runs change under their lock",
                             where=str(self.db_path), fix=f"use {_CHANGED_THROUGH_COMMANDS[name]}")

        return refused
