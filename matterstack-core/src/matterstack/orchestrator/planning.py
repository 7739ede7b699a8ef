"""Between iterations: hand the campaign its results, and check what it plans next."""

from __future__ import annotations

from pathlib import Path

from matterstack.errors import WorkflowError


def campaign_results(store, run_dir: Path) -> dict:
    """``{task_id: {"status", "files", "data"}}`` for every task of the run, from each task's
    current attempt (a task that never ran has empty files and data). File paths are
    absolute; operators record them relative to the attempt directory."""
    results = {}
    for task_id, status, attempt in store.tasks_with_current_attempts():
        data = attempt.operator_data if attempt is not None else {}
        base = run_dir / attempt.relative_path if attempt is not None and attempt.relative_path else run_dir
        results[task_id] = {
            "status": status.value,
            "files": {name: str(base / path) for name, path in (data.get("output_files") or {}).items()},
            "data": dict(data.get("output_data") or {}),
        }
    return results


def check_workflow(store, workflow) -> list:
    """The tasks of ``workflow`` once checked against the run's tasks, without writing.

    Dependencies may name tasks of earlier iterations. A task id already in the run, an
    unknown dependency, a cycle or a workflow without tasks is a WorkflowError.
    """
    tasks = list(workflow)
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

