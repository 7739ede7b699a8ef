"""Between iterations: hand the campaign its results, and check what it plans next."""

from __future__ import annotations

from pathlib import Path

from matterstack.core.attempt_results import AttemptResults
from matterstack.core.workflow import Workflow
from matterstack.errors import WorkflowError

NAME_MAX_BYTES = 255
"""The longest file or folder name most file systems take (Linux's NAME_MAX), in bytes of
UTF-8: a task id names its folder, and each ``/``-separated part of a file key names a file
or folder of its work directory."""


def campaign_results(store, run_dir: Path) -> dict:
    """``{task_id: {"status", "files", "data"}}`` for every task of the run, from each task's
    current attempt (a task that never ran has empty files and data). File paths are
    absolute; operators record them relative to the attempt directory."""
    results = {}
    for task_id, status, attempt in store.tasks_with_current_attempts():
        recorded = AttemptResults.recorded(attempt.operator_data if attempt is not None else {})
        base = run_dir / attempt.relative_path if attempt is not None and attempt.relative_path else run_dir
        results[task_id] = {
            "status": status.value,
            "files": {name: str(base / path) for name, path in recorded.files.items()},
            "data": dict(recorded.data),
        }
    return results


def check_workflow(store, workflow) -> list:
    """The tasks of ``workflow`` once checked against the run's tasks, without writing.

    Dependencies may name tasks of earlier iterations. A task id already in the run, an
    unknown dependency, a cycle or a workflow without tasks is a WorkflowError.
    """
    tasks = planned_tasks(workflow)
    if not tasks:
        raise WorkflowError("plan returned a workflow with no new task",
                            fix="return None from plan() to finish the run")
    known = store.task_ids()
    clashes = sorted(t.task_id for t in tasks if t.task_id in known)
    if clashes:
        raise WorkflowError(
            f"task id(s) already in the run: {', '.join(clashes)}",
            fix="give each new task a fresh task_id",
        )
    workflow.validate(known_task_ids=known)
    return tasks



def planned_tasks(workflow) -> list:
    """The tasks of what ``plan()`` returned, once checked to be usable on disk: a
    :class:`Workflow` whose task ids and file names fit in a file name and whose file keys do
    not need the same path as a file and as a folder (``a`` and ``a/b``). WorkflowError
    otherwise, naming the task, so one task can never stop a run's tick when it is prepared."""
    if not isinstance(workflow, Workflow):
        raise WorkflowError(f"plan() returned {_a(type(workflow).__name__)}, not a Workflow",
                            fix="return Workflow([Task(...), ...]), or None to finish the run")
    tasks = list(workflow)
    for task in tasks:
        _check_names_fit(task)
    return tasks


def _check_names_fit(task) -> None:
    where = f"task {_shown(task.task_id)}"
    size = len(task.task_id.encode())
    if size > NAME_MAX_BYTES:
        raise WorkflowError(f"task_id is {size} bytes long; it names the task's folder, which takes at most "
                            f"{NAME_MAX_BYTES}", where=where, fix=f"use a task_id of at most {NAME_MAX_BYTES} bytes")
    keys = set(task.files)
    for key in sorted(keys):
        parts = key.split("/")
        for part in parts:
            if len(part.encode()) > NAME_MAX_BYTES:
                raise WorkflowError(f"file {_shown(key)} has a name part of {len(part.encode())} bytes; a file "
                                    f"system takes at most {NAME_MAX_BYTES}", where=where,
                                    fix=f"shorten each '/'-separated part to at most {NAME_MAX_BYTES} bytes")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in keys:
                raise WorkflowError(f"file {parent!r} is also the folder of file {key!r}", where=where,
                                    fix="rename one of them: a path is either a file or a folder")


def _shown(name: str, limit: int = 60) -> str:
    """``name`` quoted, cut short in the middle when long (a 300-byte id is no use in a message)."""
    if len(name) <= limit:
        return repr(name)
    return repr(f"{name[:limit // 2]}...{name[-limit // 2:]}")


def _a(name: str) -> str:
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"
