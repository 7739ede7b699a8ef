"""A read-only view of a project's runs, for the commands a plugin adds (``matterstack human
list``): the runs of the project, a run found by its id, and the attempts of a run's tasks with
the directory each one works in.

Nothing here writes or takes the run lock: a run's database is opened read-only (an older one
through a migrated in-memory copy), so a view can be read while ``loop`` drives the same run.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import attrs

from matterstack.core.operator_key import resolve_attempt_operator_key
from matterstack.core.status import AttemptStatus
from matterstack.project import layout

if TYPE_CHECKING:
    from matterstack.core.records import Attempt
    from matterstack.core.workflow import Task

STATE_FILE = "state.sqlite"


@attrs.frozen(kw_only=True)
class AttemptView:
    """One attempt of a run's task as a plugin's command reads it.

    ``operator_key`` is the instance the attempt belongs to (for attempts of MatterStack 0.2.x
    too, whose key is derived from what they recorded); ``relative_dir`` is its directory
    relative to the run (``tasks/<task_id>/attempts/<attempt_id>``).
    """

    run_id: str
    workspace: str
    run_dir: Path
    task: Task
    task_status: str
    attempt_id: str
    attempt_index: int
    status: AttemptStatus
    relative_dir: str
    operator_key: str | None = None
    status_reason: str | None = None
    created_at: datetime | None = None
    submitted_at: datetime | None = None

    @property
    def attempt_dir(self) -> Path:
        """The attempt's directory."""
        return self.run_dir / self.relative_dir

    @property
    def kind(self) -> str | None:
        """The operator kind of the attempt's instance (``human`` for ``human.default``)."""
        return self.operator_key.split(".", 1)[0] if self.operator_key is not None else None


@attrs.frozen
class ProjectView:
    """The runs of one project, found through its run index and by looking below it."""

    workspaces_root: Path

    @classmethod
    def find(cls, workspaces_root: str | os.PathLike | None = None) -> ProjectView:
        """The project the ``matterstack`` commands work on: its workspaces root is
        ``workspaces_root`` when given, else ``$MATTERSTACK_WORKSPACES_ROOT``, else the
        ``workspaces/`` of the nearest project folder up from the current one."""
        return cls(layout.workspaces_root(workspaces_root))

    @property
    def folder(self) -> Path:
        """The project folder (the workspaces root's parent): where its runs are looked for,
        whether or not it has a ``workspaces/`` folder."""
        return layout.project_root(self.workspaces_root)

    def run_dirs(self) -> list[Path]:
        """The directory of every run of the project, oldest run id first."""
        return layout.all_runs(self.workspaces_root)

    def run_dir(self, run: str) -> Path:
        """A run's directory from its id, or from a path to the directory;
        ``RunNotFoundError`` naming where it looked when there is no such run."""
        as_path = Path(run)
        if (as_path / STATE_FILE).is_file():
            return as_path.resolve()
        return layout.find_run(run, self.workspaces_root)


class RunView:
    """One run's tasks and attempts, read-only: ``with RunView.open(run_dir) as run: ...``."""

    def __init__(self, store, run_dir: Path):
        self._store = store
        run = store.get_run()
        self.run_dir = run_dir
        self.run_id: str = run.run_id
        self.workspace: str = run.workspace_slug

    @classmethod
    def open(cls, run_dir: str | os.PathLike) -> RunView:
        """The run in ``run_dir``, its database opened read-only (a ``MatterStackError`` when
        it cannot be read)."""
        from matterstack.store import StateStore

        run_dir = Path(run_dir)
        store = StateStore.open(run_dir / STATE_FILE, readonly=True)
        try:
            return cls(store, run_dir)
        except BaseException:
            store.close()
            raise

    def waiting_attempts(self, kinds: Collection[str]) -> list[AttemptView]:
        """The attempts that wait for something outside (WAITING_EXTERNAL) on instances of
        the operator ``kinds``, in the order they were made."""
        waiting = [(attempt, key) for attempt in self._store.active_attempts()
                   if attempt.status == AttemptStatus.WAITING_EXTERNAL
                   and (key := _operator_key(attempt)) is not None and key.split(".", 1)[0] in kinds]
        return self._views(waiting)

    def task_attempts(self, task_id: str) -> list[AttemptView]:
        """Every attempt of the task, first to latest (none before its first is made); a
        ``MatterStackError`` when the run has no such task."""
        self._store.get_task(task_id)
        return self._views([(attempt, _operator_key(attempt)) for attempt in self._store.attempts_for_task(task_id)])

    def task_status(self, task_id: str) -> str:
        """The task's status (``PENDING``, ``WAITING_EXTERNAL``, ``COMPLETED``, ...)."""
        self._store.get_task(task_id)
        return self._store.task_statuses([task_id])[task_id].value

    def _views(self, attempts: list[tuple[Attempt, str | None]]) -> list[AttemptView]:
        ids = [attempt.task_id for attempt, _ in attempts]
        tasks = self._store.get_tasks(ids) if ids else {}
        statuses = self._store.task_statuses(ids) if ids else {}
        return [
            AttemptView(
                run_id=self.run_id, workspace=self.workspace, run_dir=self.run_dir, task=tasks[attempt.task_id],
                task_status=statuses[attempt.task_id].value, attempt_id=attempt.attempt_id,
                attempt_index=attempt.attempt_index, status=attempt.status,
                relative_dir=attempt.relative_path or f"tasks/{attempt.task_id}/attempts/{attempt.attempt_id}",
                operator_key=key, status_reason=attempt.status_reason, created_at=attempt.created_at,
                submitted_at=attempt.submitted_at,
            )
            for attempt, key in attempts
        ]

    def close(self) -> None:
        """Close the run's database."""
        self._store.close()

    def __enter__(self) -> RunView:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def _operator_key(attempt: Attempt) -> str | None:
    return resolve_attempt_operator_key(attempt.operator_key, attempt.operator_data, attempt.operator_type).key
