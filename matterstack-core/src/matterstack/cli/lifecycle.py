"""``init``, ``step``, ``loop`` and ``run``: the commands that move runs forward."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from matterstack.cli.runs import WorkspacesRoot, campaign_for, handle_for, open_store, root

EXIT_RUN_FAILED = 1


def init(
    workspace: str = typer.Argument(..., help="Workspace slug under the workspaces root, or a path to a folder with main.py."),
    run_id: Optional[str] = typer.Option(None, "--run-id", help="Choose the run id (default: a fresh one)."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """Create a run of a workspace's campaign and record its first iteration."""
    handle = _init(workspace, run_id, workspaces_root)
    typer.echo(f"Run {handle.run_id} created in {handle.root_path}")


def _init(workspace: str, run_id: Optional[str], workspaces_root: Optional[Path]):
    from matterstack.orchestrator.api import initialize_run
    from matterstack.orchestrator.workspace import load_campaign, register_run, resolve_workspace

    ws_root = root(workspaces_root)
    ws = resolve_workspace(workspace, ws_root)
    campaign = load_campaign(ws.path)
    handle = initialize_run(ws.slug, campaign, run_id=run_id, workspace_path=ws.path)
    register_run(ws_root, handle.run_id, handle.root_path)
    return handle


def step(
    run: str = typer.Argument(..., help="Run id (or run directory)."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """Run one tick: reconcile, poll, submit, and analyze/plan when an iteration ends."""
    from matterstack.orchestrator.api import step_once

    handle = handle_for(run, workspaces_root)
    report = step_once(handle, campaign_for(handle))
    typer.echo(
        f"Run {report.run_id}: {report.status.value} (submitted {report.submitted}, "
        f"finished {report.finished}, planned {report.planned})"
    )
    for note in report.notes:
        typer.echo(f"  note: {note}")
    if report.status.value in ("FAILED", "CANCELLED"):
        raise typer.Exit(EXIT_RUN_FAILED)


def loop(
    run: Optional[str] = typer.Argument(None, help="Run id; without one, every active run of the project in turn."),
    interval: float = typer.Option(1.0, "--interval", help="Seconds to wait between ticks that found nothing to do."),
    max_ticks: Optional[int] = typer.Option(None, "--max-ticks", help="Stop after this many ticks per run."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """Tick until the run (or every active run) is finished, showing live progress."""
    if run is not None:
        status = _loop_one(handle_for(run, workspaces_root), interval, max_ticks)
        if status in ("FAILED", "CANCELLED"):
            raise typer.Exit(EXIT_RUN_FAILED)
        return
    _loop_all(root(workspaces_root), interval, max_ticks)


def _loop_one(handle, interval: float, max_ticks: Optional[int]) -> str:
    from matterstack.cli.progress import ProgressPrinter
    from matterstack.orchestrator.api import build_registry, step_once

    campaign = campaign_for(handle)
    registry = build_registry(handle)
    printer = ProgressPrinter()
    ticks = 0
    shown_notes: set[str] = set()
    try:
        while True:
            report = step_once(handle, campaign, registry)
            ticks += 1
            for note in report.notes:
                if note not in shown_notes:
                    printer.note(f"note: {note}")
                    shown_notes.add(note)
            with open_store(handle) as store:
                printer.show(handle.run_id, store)
            if report.status.is_terminal or (max_ticks is not None and ticks >= max_ticks):
                break
            if not (report.submitted or report.finished or report.planned):
                time.sleep(interval)
    finally:
        printer.finish()
        registry.close()
    reason = ""
    with open_store(handle) as store:
        run = store.get_run()
        reason = f" ({run.status_reason})" if run.status_reason else ""
    typer.echo(f"Run {handle.run_id} {report.status.value}{reason}")
    return report.status.value


def _loop_all(ws_root: Path, interval: float, max_ticks: Optional[int]) -> None:
    """Round-robin over every unfinished run; a run locked by another process is skipped."""
    from matterstack.errors import RunLockedError
    from matterstack.orchestrator.api import build_registry, step_once
    from matterstack.orchestrator.handle import RunHandle
    from matterstack.orchestrator.workspace import all_runs, load_campaign

    sessions: dict[Path, tuple] = {}
    ticks: dict[Path, int] = {}
    try:
        while True:
            busy = False
            active = 0
            for run_dir in all_runs(ws_root):
                handle = RunHandle.from_run_dir(run_dir)
                with open_store(handle) as store:
                    if store.get_run().status.is_terminal:
                        continue
                if max_ticks is not None and ticks.get(run_dir, 0) >= max_ticks:
                    continue
                active += 1
                if run_dir not in sessions:
                    sessions[run_dir] = (load_campaign(handle.workspace_path), build_registry(handle))
                campaign, registry = sessions[run_dir]
                try:
                    report = step_once(handle, campaign, registry)
                except RunLockedError:
                    typer.echo(f"{handle.run_id}: being stepped by another process, skipped", err=True)
                    continue
                ticks[run_dir] = ticks.get(run_dir, 0) + 1
                busy = busy or bool(report.submitted or report.finished or report.planned)
                typer.echo(f"{handle.run_id}: {report.status.value} (submitted {report.submitted}, "
                           f"finished {report.finished})")
            if active == 0:
                typer.echo("No active runs.")
                return
            if not busy:
                time.sleep(interval)
    finally:
        for _, registry in sessions.values():
            registry.close()


def run(
    workspace: str = typer.Argument(..., help="Workspace slug or path to a folder with main.py."),
    interval: float = typer.Option(0.2, "--interval", help="Seconds between idle ticks."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """Create a run, tick it to the end, and export its evidence: the one command to try."""
    from matterstack.orchestrator.evidence import export_evidence

    handle = _init(workspace, None, workspaces_root)
    typer.echo(f"Run {handle.run_id}  (workspace {handle.workspace_slug})")
    status = _loop_one(handle, interval, None)
    with open_store(handle) as store:
        report = export_evidence(handle, store)
    typer.echo(f"Report: {report}")
    if status in ("FAILED", "CANCELLED"):
        raise typer.Exit(EXIT_RUN_FAILED)


def register(app: typer.Typer) -> None:
    """Add the lifecycle commands to the ``matterstack`` app."""
    for name, fn in (("init", init), ("step", step), ("loop", loop), ("run", run)):
        app.command(name)(fn)
