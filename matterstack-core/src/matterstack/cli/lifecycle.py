"""``init``, ``step``, ``loop`` and ``run``: the commands that move runs forward."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from matterstack.cli.runs import WorkspacesRoot, campaign_for, handle_for, open_store, root
from matterstack.cli.wiring_flags import ForceOverride, HpcConfig, OperatorsConfig, Profile, ProfilesConfig, WiringFlags

EXIT_RUN_FAILED = 1
PROGRESS_REFRESH_SECONDS = 0.1
"""The progress line is drawn at most this often (and once more at the end): each drawing
reads the run's counts, which a loop of short tasks would otherwise do after every tick."""
KEPT_STORES = 256
"""How many runs' databases ``loop`` over a project keeps open between rounds (three file
descriptors each), as ``loop <run>`` keeps its one: opening one and closing it again (a WAL
checkpoint with an fsync) cost more than a tick that finds nothing to do. The databases of
further runs are opened and closed every round."""
LOCKED_RETRY_SECONDS = 0.05
BUSY_RETRY_SECONDS = 1.0
"""Pause between tries while another process holds the run's database (each try itself
waits SQLite's busy timeout first)."""


def init(
    workspace: str = typer.Argument(..., help="Workspace slug under the workspaces root, or a path to a folder with main.py."),
    run_id: Optional[str] = typer.Option(None, "--run-id", help="Choose the run id (default: a fresh one)."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
    operators_config: Optional[Path] = OperatorsConfig,
    hpc_config: Optional[Path] = HpcConfig,
    profile: Optional[str] = Profile,
    config: Optional[Path] = ProfilesConfig,
) -> None:
    """Create a run of a workspace's campaign and record its first iteration."""
    handle = _init(workspace, run_id, workspaces_root, WiringFlags(operators_config, hpc_config, profile, config))
    typer.echo(f"Run {handle.run_id} created in {handle.root_path}")


def _init(workspace: str, run_id: Optional[str], workspaces_root: Optional[Path], flags: WiringFlags):
    from matterstack.core.run_id import check_run_id
    from matterstack.errors import WorkflowError
    from matterstack.orchestrator.api import initialize_run
    from matterstack.project.layout import load_campaign, register_run, resolve_workspace
    from matterstack.wiring.snapshot import persist_request

    if run_id is not None:
        check_run_id(run_id, where="--run-id")
    ws_root = root(workspaces_root)
    ws = resolve_workspace(workspace, ws_root)
    wiring = flags.request(ws.path)  # a bad wiring file is refused before the run is made
    campaign = load_campaign(ws.path)
    try:
        handle = initialize_run(ws.slug, campaign, run_id=run_id, workspace_path=ws.path)
    except WorkflowError as exc:
        raise _in_main_py(exc, ws.main_py) from exc
    register_run(ws_root, handle.run_id, handle.root_path)
    if wiring is not None:
        persist_request(handle, wiring)
    return handle


def _in_main_py(exc, main_py: Path):
    """The first plan's error, said of the file to fix: ``main.py``, then the task or the
    exception it concerns, and its own fix (not wrapped twice)."""
    from matterstack.errors import MatterStackError, WorkflowError

    cause = exc.__cause__ if isinstance(exc.__cause__, MatterStackError) else exc
    what = f"plan(None): {cause.what}" if cause is not exc else cause.what
    where = f"{main_py}" + (f", {cause.where}" if cause.where and not cause.where.startswith("workspace ") else "")
    return WorkflowError(what, where=where, fix=cause.fix)


def step(
    run: str = typer.Argument(..., help="Run id (or run directory)."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
    operators_config: Optional[Path] = OperatorsConfig,
    hpc_config: Optional[Path] = HpcConfig,
    profile: Optional[str] = Profile,
    config: Optional[Path] = ProfilesConfig,
    force_wiring_override: bool = ForceOverride,
) -> None:
    """Run one tick: reconcile, poll, submit, and analyze/plan when an iteration ends."""
    from matterstack.orchestrator.api import step_once

    handle = handle_for(run, workspaces_root)
    flags = WiringFlags(operators_config, hpc_config, profile, config, force_wiring_override)
    registry = flags.registry(handle)
    try:
        report = step_once(handle, campaign_for(handle), registry)
    finally:
        registry.close()
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
    interval: float = typer.Option(1.0, "--interval", help="Longest wait between ticks that find nothing to do (waits start at 1 ms and double)."),
    max_ticks: Optional[int] = typer.Option(None, "--max-ticks", help="Stop after this many ticks per run."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
    operators_config: Optional[Path] = OperatorsConfig,
    hpc_config: Optional[Path] = HpcConfig,
    profile: Optional[str] = Profile,
    config: Optional[Path] = ProfilesConfig,
    force_wiring_override: bool = ForceOverride,
) -> None:
    """Tick until the run (or every active run) is finished, showing live progress."""
    flags = WiringFlags(operators_config, hpc_config, profile, config, force_wiring_override)
    if run is not None:
        status = _loop_one(handle_for(run, workspaces_root), interval, max_ticks, flags)
        if status in ("FAILED", "CANCELLED"):
            raise typer.Exit(EXIT_RUN_FAILED)
        return
    _loop_all(root(workspaces_root), interval, max_ticks, flags)


def _loop_one(handle, interval: float, max_ticks: Optional[int], flags: WiringFlags) -> str:
    from matterstack.cli.child_exit import ChildExitWait
    from matterstack.cli.progress import ProgressPrinter
    from matterstack.errors import DatabaseBusyError, RunLockedError
    from matterstack.orchestrator.api import IdleWait, step_once

    campaign = campaign_for(handle)
    registry = flags.registry(handle)
    printer = ProgressPrinter()
    idle = IdleWait(interval)
    waiter = ChildExitWait()  # a local job that ends cuts the idle wait short
    ticks = 0
    shown_notes: set[str] = set()
    shown_at = None
    # One connection for the whole loop: each tick still takes the run lock, and what the
    # store has decoded of the run (task definitions, unchanged attempts) is not decoded again.
    # It is opened after the first tick got the lock: a locked run's files are not touched.
    store = None
    ticked = False
    busy_said = False
    try:
        while True:
            try:
                report = step_once(handle, campaign, registry, store)
            except DatabaseBusyError as exc:
                # An outage: the tick stopped where a crash could have, and changed nothing
                # since its last commit. What the kept connection had read is read afresh.
                if store is not None:
                    store.close()
                    store = None
                if not busy_said:
                    printer.note(f"note: {exc.what}; waiting and retrying")
                    busy_said = True
                time.sleep(BUSY_RETRY_SECONDS)
                continue
            except RunLockedError:
                if not ticked:
                    raise  # another process was driving the run first: say so and leave it
                time.sleep(LOCKED_RETRY_SECONDS)  # a control command holds it for a moment
                continue
            if busy_said:
                printer.note("note: the run's database is free again; going on")
                busy_said = False
            if store is None:
                store = open_store(handle)
            ticked = True
            ticks += 1
            for note in report.notes:
                if note not in shown_notes:
                    printer.note(f"note: {note}")
                    shown_notes.add(note)
            done = report.status.is_terminal or (max_ticks is not None and ticks >= max_ticks)
            wait = idle.after(report)
            if done or shown_at is None or time.monotonic() - shown_at >= PROGRESS_REFRESH_SECONDS:
                printer.show(handle.run_id, store)
                shown_at = time.monotonic()
            if done:
                break
            waiter.sleep(wait)
        run = store.get_run()
    finally:
        waiter.close()
        printer.finish()
        registry.close()
        if store is not None:
            store.close()
    reason = f" ({run.status_reason})" if run.status_reason else ""
    typer.echo(f"Run {handle.run_id} {report.status.value}{reason}")
    return report.status.value


def _loop_all(ws_root: Path, interval: float, max_ticks: Optional[int], flags: WiringFlags) -> None:
    """Round-robin over every unfinished run of the project until none is left.

    A run locked by another process is skipped (said once) and tried again next round; a run
    whose workspace or database cannot be used is reported once and left out, and the others
    go on. Exits 1 if a run it stepped ended FAILED or CANCELLED, 2 if one was left out.
    """
    from matterstack.cli.progress import ProgressPrinter
    from matterstack.errors import DatabaseBusyError, MatterStackError, RunLockedError
    from matterstack.orchestrator.api import FIRST_IDLE_WAIT, step_once
    from matterstack.orchestrator.handle import RunHandle
    from matterstack.project.layout import all_runs, load_campaign

    sessions: dict[Path, tuple] = {}
    kept: dict[Path, object] = {}  # open stores of unfinished runs, reused next round
    ticks: dict[Path, int] = {}
    said_locked: set[Path] = set()
    left_out: set[Path] = set()
    shown_notes: set[tuple[Path, str]] = set()
    ended: dict[Path, str] = {}
    printer = ProgressPrinter(redraw=False)
    idle_wait = min(FIRST_IDLE_WAIT, interval)
    try:
        while True:
            busy = False
            active = 0
            for run_dir in all_runs(ws_root):
                if run_dir in left_out or (max_ticks is not None and ticks.get(run_dir, 0) >= max_ticks):
                    continue
                handle = RunHandle.from_run_dir(run_dir)
                store = kept.pop(run_dir, None)
                if store is None:
                    try:
                        store = open_store(handle)
                    except MatterStackError as exc:
                        typer.echo(f"Error: run {handle.run_id} left out: {exc.one_line()}", err=True)
                        left_out.add(run_dir)
                        continue
                try:
                    try:
                        if store.get_run().status.is_terminal:
                            continue
                        active += 1
                        if run_dir not in sessions:
                            sessions[run_dir] = (load_campaign(handle.workspace_path), flags.registry(handle))
                        campaign, registry = sessions[run_dir]
                        # A store this process may not write is left to step_once, which says why.
                        report = step_once(handle, campaign, registry, None if store.readonly else store)
                    except RunLockedError as exc:
                        if run_dir not in said_locked:
                            why = ("its database is locked by another process" if isinstance(exc, DatabaseBusyError)
                                   else "being stepped by another process")
                            typer.echo(f"{handle.run_id}: {why}, skipped", err=True)
                            said_locked.add(run_dir)
                        continue
                    except MatterStackError as exc:
                        typer.echo(f"Error: run {handle.run_id} left out: {exc.one_line()}", err=True)
                        left_out.add(run_dir)
                        continue
                    said_locked.discard(run_dir)
                    ticks[run_dir] = ticks.get(run_dir, 0) + 1
                    busy = busy or bool(report.submitted or report.finished or report.planned)
                    for note in report.notes:
                        if (run_dir, note) not in shown_notes:
                            printer.note(f"{handle.run_id}: note: {note}")
                            shown_notes.add((run_dir, note))
                    printer.show(handle.run_id, store)
                    if report.status.is_terminal:
                        run = store.get_run()
                        reason = f" ({run.status_reason})" if run.status_reason else ""
                        typer.echo(f"Run {handle.run_id} {run.status.value}{reason}")
                        ended[run_dir] = run.status.value
                    elif not store.readonly and len(kept) < KEPT_STORES:
                        kept[run_dir], store = store, None
                finally:
                    if store is not None:
                        store.close()
            if active == 0:
                if not ended and not left_out:
                    typer.echo("No active runs.")
                break
            if busy:
                idle_wait = min(FIRST_IDLE_WAIT, interval)
            else:
                time.sleep(idle_wait)
                idle_wait = min(idle_wait * 2, interval)
    finally:
        for store in kept.values():
            store.close()
        for _, registry in sessions.values():
            registry.close()
    if left_out:
        raise typer.Exit(2)
    if any(status in ("FAILED", "CANCELLED") for status in ended.values()):
        raise typer.Exit(EXIT_RUN_FAILED)


def run(
    workspace: str = typer.Argument(..., help="Workspace slug or path to a folder with main.py."),
    interval: float = typer.Option(0.2, "--interval", help="Seconds between idle ticks."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
    operators_config: Optional[Path] = OperatorsConfig,
    hpc_config: Optional[Path] = HpcConfig,
    profile: Optional[str] = Profile,
    config: Optional[Path] = ProfilesConfig,
    force_wiring_override: bool = ForceOverride,
) -> None:
    """Create a run, tick it to the end, and export its evidence: the one command to try."""
    from matterstack.orchestrator.evidence import export_evidence
    from matterstack.wiring.summary import wiring_summary

    flags = WiringFlags(operators_config, hpc_config, profile, config, force_wiring_override)
    handle = _init(workspace, None, workspaces_root, flags)
    typer.echo(f"Run {handle.run_id}  (workspace {workspace})")
    status = _loop_one(handle, interval, None, flags)
    with open_store(handle) as store:
        report = export_evidence(handle, store, wiring_summary(handle))
    # The Markdown report stays the last line: scripts read it from there.
    typer.echo(f"HTML report: {report.parent / 'report.html'}")
    typer.echo(f"Report: {report}")
    if status in ("FAILED", "CANCELLED"):
        raise typer.Exit(EXIT_RUN_FAILED)


def register(app: typer.Typer) -> None:
    """Add the lifecycle commands to the ``matterstack`` app."""
    for name, fn in (("init", init), ("step", step), ("loop", loop), ("run", run)):
        app.command(name)(fn)
