"""MatterStack 0.2.x's ``matterstack.orchestration.run_lifecycle``, kept for workspaces and
scripts that import from it.

``initialize_run``, ``step_run``, ``run_until_completion`` and ``RunHandle`` are this
MatterStack's own (same arguments as in 0.2.x); ``initialize_or_resume_run`` and
``list_active_runs`` find runs as 0.2.x did; ``SQLiteStateStore`` reads a run's database
(:mod:`matterstack.storage.state_store`). ``RunLifecycleError`` is
:class:`~matterstack.errors.MatterStackError`, what the run API raises for bad input, so an
``except RunLifecycleError`` written for 0.2.x catches it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from matterstack.errors import MatterStackError
from matterstack.orchestrator.api import initialize_run, run_until_completion, step_run
from matterstack.orchestrator.handle import RunHandle
from matterstack.project.layout import runs_below
from matterstack.storage.state_store import SQLiteStateStore

__all__ = [
    "RunLifecycleError",
    "initialize_run",
    "initialize_or_resume_run",
    "step_run",
    "run_until_completion",
    "list_active_runs",
    "RunHandle",
    "SQLiteStateStore",
]

RunLifecycleError = MatterStackError

logger = logging.getLogger(__name__)


def _run_status(run_dir: Path):
    from matterstack.store import StateStore

    with StateStore.open(run_dir / "state.sqlite", readonly=True) as store:
        return store.run_status()


def initialize_or_resume_run(workspace_slug: str, campaign, base_path: Path | str = Path("workspaces"),
                             resume_run_id: str | None = None, resume_always: bool = False) -> RunHandle:
    """The run to continue in ``<base_path>/<workspace_slug>/runs/``, or a new one.

    With ``resume_run_id``: that run if its folder exists, else a new run with that id.
    Without: the newest run (run ids sort by time) if it is PENDING, RUNNING or PAUSED, or if
    ``resume_always``; else (no run yet, or the newest has ended) a new run. A newest run
    whose database cannot be read raises :class:`~matterstack.errors.StoreError` (0.2.x
    started a new run beside it without a word).
    """
    runs_dir = Path(base_path) / workspace_slug / "runs"
    if resume_run_id:
        if (runs_dir / resume_run_id).exists():
            return RunHandle(run_id=resume_run_id, workspace_slug=workspace_slug, root_path=runs_dir / resume_run_id)
        return initialize_run(workspace_slug, campaign, base_path, run_id=resume_run_id)
    runs = sorted(runs_dir.glob("*/state.sqlite"))
    if runs:
        latest = runs[-1].parent
        if resume_always or not _run_status(latest).is_terminal:
            return RunHandle(run_id=latest.name, workspace_slug=workspace_slug, root_path=latest)
    return initialize_run(workspace_slug, campaign, base_path)


def list_active_runs(base_path: Path | str = Path("workspaces")) -> list[RunHandle]:
    """A handle for every run below ``base_path`` that is PENDING, RUNNING or PAUSED, oldest
    run id first. Workspaces nested in folders (``demos/screening``) count too (0.2.x looked
    one level deep only); a run whose database cannot be read is left out with a warning
    logged, as in 0.2.x. Nothing is written.
    """
    base = Path(base_path).resolve()
    if not base.is_dir():
        return []
    active = []
    for run_dir in sorted(runs_below(base), key=lambda p: p.name):
        try:
            status = _run_status(run_dir)
        except MatterStackError as exc:
            logger.warning("Failed to inspect run at %s: %s", run_dir, exc)
            continue
        if not status.is_terminal:
            slug = run_dir.parent.parent.relative_to(base).as_posix()
            active.append(RunHandle(run_id=run_dir.name, workspace_slug=slug, root_path=run_dir))
    return active
