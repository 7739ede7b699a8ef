"""Where a run begun by MatterStack 0.2.4 runs its new attempts, so its commands keep working.

0.2.4 ran each task's job in ``<run>/<task_id>/``, so its campaigns reach the run folder as
``..``: ``../inputs/reference.dat``, ``../fit_eos/eos.json`` (another task's output). From
0.2.5 on a job runs in ``tasks/<task>/attempts/<id>/``, three folders deeper, where those
paths find nothing (0.2.5 and later could not open a 0.2.4 run at all). A run that holds
0.2.4's ``external_runs`` therefore runs its new attempts in ``jobs-0.2.4/<task>.<attempt>/``,
and ``jobs-0.2.4/`` is kept a view of the run folder as 0.2.4 laid it out: one relative
symbolic link per entry of the run folder, and per task one link to the folder of its
newest COMPLETED job (a new attempt's, or the one 0.2.4 ran). Nothing of the run's own files
is moved or changed; the view is ours, rebuilt before each tick submits.
"""

from __future__ import annotations

import os
from pathlib import Path

from matterstack.core.status import AttemptStatus

JOB_VIEW = "jobs-0.2.4"
"""The view folder, relative to the run folder."""

_NOT_IN_VIEW = frozenset({JOB_VIEW, "tasks", "state.sqlite", "state.sqlite-wal", "state.sqlite-shm",
                          "state.sqlite-journal", "run.lock"})


def job_view_path(task_id: str, attempt_id: str) -> str:
    """A new attempt's folder in a 0.2.4 run, relative to the run folder."""
    return f"{JOB_VIEW}/{task_id}.{attempt_id}"


def refresh_job_view(run_dir: Path, store) -> None:
    """Point every link of ``<run>/jobs-0.2.4/`` where 0.2.4's ``..`` would have led."""
    view = run_dir / JOB_VIEW
    view.mkdir(exist_ok=True)
    tasks = {task_id: current for task_id, _, current in store.tasks_with_current_attempts()}
    targets = {entry.name: f"../{entry.name}" for entry in os.scandir(run_dir)
               if entry.name not in _NOT_IN_VIEW and not entry.name.startswith(".") and entry.name not in tasks}
    for task_id, current in tasks.items():
        target = _job_folder(run_dir, task_id, current)
        if target is not None:
            targets[task_id] = target
    for name, target in targets.items():
        _link(view / name, target)


def _job_folder(run_dir: Path, task_id: str, current) -> str | None:
    """The task's newest COMPLETED job folder, as a link target inside the view."""
    relative = current.relative_path if current is not None and current.status == AttemptStatus.COMPLETED else None
    if relative and relative.startswith(f"{JOB_VIEW}/"):
        return relative.removeprefix(f"{JOB_VIEW}/")
    if relative and relative.startswith("tasks/"):  # an attempt of 0.2.5 or later
        return f"../{relative}"
    # 0.2.4's own job folder (its attempt's relative_path is the operator's folder, not the job's)
    return f"../{task_id}" if (run_dir / task_id).is_dir() else None


def _link(link: Path, target: str) -> None:
    try:
        if os.readlink(link) == target:
            return
    except OSError:
        pass
    temporary = link.with_name(f".{link.name}.{os.getpid()}.link")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, link)
