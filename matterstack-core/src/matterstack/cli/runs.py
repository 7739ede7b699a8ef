"""Finding runs from the command line: by id from any folder of the project."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

WorkspacesRoot = typer.Option(
    None,
    "--workspaces-root",
    envvar="MATTERSTACK_WORKSPACES_ROOT",
    help="Folder holding the workspaces (default: the nearest `workspaces/` walking up).",
)


def root(explicit: Optional[Path]) -> Path:
    from matterstack.project.layout import workspaces_root

    return workspaces_root(explicit)


def handle_for(run_id: str, explicit_root: Optional[Path]):
    """The RunHandle of ``run_id`` (a run id, or a path to a run directory)."""
    from matterstack.orchestrator.handle import RunHandle
    from matterstack.project.layout import find_run

    as_path = Path(run_id)
    if (as_path / "state.sqlite").is_file():
        return RunHandle.from_run_dir(as_path)
    return RunHandle.from_run_dir(find_run(run_id, root(explicit_root)))


def open_store(handle):
    """Open (and if needed migrate) a run's database for reading; no run lock is taken.

    A database this process may not write (a read-only run folder) is opened read-only:
    reading commands work on it, an older one read through a migrated copy in memory."""
    from matterstack.store import StateStore, preflight

    return StateStore.open(handle.db_path, readonly=not preflight.can_write(handle.db_path))


def campaign_for(handle):
    """The campaign of the run's workspace (``<workspace>/main.py``)."""
    from matterstack.project.layout import load_campaign

    return load_campaign(handle.workspace_path)
