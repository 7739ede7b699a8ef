"""Read-only commands: ``status``, ``attempts``, ``explain``, ``export-evidence``, ``monitor``.

They take no run lock, so they work while ``loop`` runs; a database from MatterStack 0.2.x
is migrated on first open.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from matterstack.cli.runs import WorkspacesRoot, handle_for, open_store, root

JsonFlag = typer.Option(False, "--json", help="Print machine-readable JSON.")
UNREADABLE = "UNREADABLE"
"""The status shown, in a list of every run, for a run whose database cannot be read."""


def _status_dict(handle, wiring: bool) -> dict:
    """The run's summary; with ``wiring``, also where its wiring comes from (only ``--json``
    shows it, and finding it imports the whole wiring package: 15 ms of a text ``status``)."""
    from matterstack.store.summary import run_summary

    row = run_summary(handle.db_path)
    if wiring:
        from matterstack.wiring.precedence import recorded_source

        row["wiring"] = recorded_source(handle)
    return row


def _read_each_run(ws_root: Path, read) -> list[tuple]:
    """``(handle, read(handle), None)`` for every run of the project, or ``(handle, None,
    reason)`` for a run that cannot be read: one bad run is listed as such and never hides
    the others (as ``loop`` and ``human list`` do)."""
    import sqlite3

    from matterstack.errors import MatterStackError
    from matterstack.orchestrator.handle import RunHandle
    from matterstack.project.layout import all_runs

    found = []
    for run_dir in all_runs(ws_root):
        handle = RunHandle.from_run_dir(run_dir)
        try:
            found.append((handle, read(handle), None))
        except MatterStackError as exc:
            found.append((handle, None, exc.one_line()))
        except sqlite3.DatabaseError as exc:  # a page SQLite cannot read, found past the preflight
            found.append((handle, None, f"{handle.db_path}: cannot be read ({exc})"))
    return found


def _unreadable_row(handle, reason: str) -> dict:
    return {"run_id": handle.run_id, "workspace_slug": handle.workspace_slug, "status": UNREADABLE,
            "status_reason": reason, "created_at": None, "tasks": {}, "active_attempts": None, "wiring": None}


def status(
    run: Optional[str] = typer.Argument(None, help="Run id; without one, every run of the project."),
    as_json: bool = JsonFlag,
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """Show a run's status and task counts (or a line per run).

    Without a run id, a run whose database cannot be read is listed as UNREADABLE with the
    reason, and the others are shown; the exit code stays 0 (it is a status, like FAILED)."""
    if run is None:
        rows = [row if reason is None else _unreadable_row(handle, reason)
                for handle, row, reason in _read_each_run(root(workspaces_root), lambda h: _status_dict(h, as_json))]
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        for row in rows:
            counts = (row["status_reason"] if row["status"] == UNREADABLE
                      else " ".join(f"{k}={v}" for k, v in sorted(row["tasks"].items())))
            typer.echo(f"{row['run_id']}  {row['status']:<10} {row['workspace_slug']}  {counts}")
        if not rows:
            typer.echo("No runs found.")
        return
    row = _status_dict(handle_for(run, workspaces_root), as_json)
    if as_json:
        typer.echo(json.dumps(row, indent=2))
        return
    reason = f" ({row['status_reason']})" if row["status_reason"] else ""
    typer.echo(f"Run {row['run_id']}: {row['status']}{reason}")
    typer.echo(f"  workspace: {row['workspace_slug']}   created: {row['created_at']}")
    typer.echo("  tasks: " + ", ".join(f"{v} {k}" for k, v in sorted(row["tasks"].items())))
    typer.echo(f"  active attempts: {row['active_attempts']}")


ATTEMPT_FORMATS = ("text", "json", "tsv")
TSV_COLUMNS = ("attempt_id", "attempt_index", "status", "operator_type", "external_id", "artifact_path",
               "config_hash")
"""MatterStack 0.2.x's ``attempts`` output, one header line then a line per attempt, for scripts."""


def _attempt_format(output_format: Optional[str], as_json: bool) -> str:
    from matterstack.errors import ConfigError

    if output_format is None:
        return "json" if as_json else "text"
    if output_format not in ATTEMPT_FORMATS:
        raise ConfigError(f"unknown format {output_format!r}", where="attempts --format",
                          fix=f"use one of {', '.join(ATTEMPT_FORMATS)}")
    if as_json and output_format != "json":
        raise ConfigError(f"--json and --format {output_format} ask for two formats", where="attempts",
                          fix="give one of them")
    return output_format


def _tsv_line(attempt, key: Optional[str]) -> str:
    """One attempt in 0.2.x's columns. ``operator_type`` is what 0.2.x recorded ("HPC", ...);
    attempts made here record an operator key instead, which fills the column for them."""
    data = attempt.operator_data if isinstance(attempt.operator_data, dict) else {}
    values = (attempt.attempt_id, attempt.attempt_index, attempt.status.value, attempt.operator_type or key,
              attempt.external_id, attempt.relative_path, data.get("config_hash"))
    return "\t".join("" if value is None else str(value) for value in values)


def attempts(
    run: str = typer.Argument(..., help="Run id."),
    task: str = typer.Argument(..., help="Task id."),
    as_json: bool = JsonFlag,
    output_format: Optional[str] = typer.Option(
        None, "--format", metavar="text|json|tsv",
        help="tsv: MatterStack 0.2.x's tab-separated columns (" + " ".join(TSV_COLUMNS) + "), with a header line."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """List every attempt of a task, oldest first, with its operator key."""
    from matterstack.orchestrator.observe import attempt_key
    from matterstack.store.resources import attempt_resources, task_resource_changes

    chosen = _attempt_format(output_format, as_json)
    handle = handle_for(run, workspaces_root)
    with open_store(handle) as store:
        history = store.attempts_for_task(task)
        if chosen == "tsv":
            store.get_task(task)  # an unknown task is an error, not an empty table
            typer.echo("\t".join(TSV_COLUMNS))
            for attempt in history:
                typer.echo(_tsv_line(attempt, attempt_key(attempt)))
            return
        resources = attempt_resources(store.get_task(task), history, task_resource_changes(store, task))
        rows = [
            {
                "attempt_index": a.attempt_index,
                "attempt_id": a.attempt_id,
                "status": a.status.value,
                "operator_key": attempt_key(a),
                "external_id": a.external_id,
                "created_at": a.created_at.isoformat() if a.created_at else None,
                "ended_at": a.ended_at.isoformat() if a.ended_at else None,
                "reason": a.status_reason,
                "path": a.relative_path,
                **resources[a.attempt_id],
            }
            for a in history
        ]
    if chosen == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo(f"Task {task} has no attempts yet.")
    for r in rows:
        for change in r["resource_changes"]:
            typer.echo(f"   resources changed {change['at']}: "
                       + ", ".join(f"{k} {old} → {new}" for k, (old, new) in change["changes"].items()))
        typer.echo(f"#{r['attempt_index']} {r['attempt_id']}  {r['status']:<16} {r['operator_key'] or '-':<20} "
                   f"external id {r['external_id'] or '-'}  {r['reason'] or ''}")


def explain(
    run: str = typer.Argument(..., help="Run id."),
    as_json: bool = JsonFlag,
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """Say what each unfinished task waits for, in the operator's words, and since when."""
    from matterstack.json_text import write_json
    from matterstack.orchestrator import explain as explaining
    from matterstack.orchestrator.api import build_registry
    from matterstack.wiring.precedence import resolve_run_wiring

    handle = handle_for(run, workspaces_root)
    registry = build_registry(handle, resolve_run_wiring(handle, pin=False).wiring)
    try:
        with open_store(handle) as store:
            result = explaining.explain(handle, store, registry, shown=None if as_json else explaining.DESCRIBED)
    finally:
        registry.close()
    if as_json:
        write_json(result.as_dict(), sys.stdout.write)  # a million tasks' worth is not joined first
    else:
        typer.echo(explaining.render(result))


def export_evidence(
    run: str = typer.Argument(..., help="Run id."),
    output: Optional[Path] = typer.Option(
        None, "--output", metavar="DIR",
        help="Write the evidence into DIR instead of the run's evidence/ (for a run folder you may not write)."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """Rebuild evidence/bundle.json, evidence/report.md and evidence/report.html from the database."""
    from matterstack.errors import ConfigError
    from matterstack.orchestrator.evidence import export_evidence as export
    from matterstack.wiring.summary import wiring_summary

    handle = handle_for(run, workspaces_root)
    folder = output if output is not None else handle.evidence_path
    with open_store(handle) as store:
        try:
            report = export(handle, store, wiring_summary(handle), folder)
        except OSError as exc:
            raise ConfigError(
                f"cannot write the evidence ({exc.strerror}: {exc.filename})",
                where=f"run {handle.run_id}",
                fix="pass --output DIR, a folder you may write" if output is None else "choose a folder you may write",
            ) from exc
    typer.echo(f"Evidence written: {report.parent / 'bundle.json'}, {report} and {report.parent / 'report.html'}")


def monitor(
    run: Optional[str] = typer.Argument(None, help="Run id; without one, every run."),
    interval: float = typer.Option(2.0, "--interval", help="Seconds between refreshes."),
    once: bool = typer.Option(False, "--once", help="Print one view and exit."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """A live view of runs' progress (read-only; Ctrl-C to leave).

    On a terminal: each run's progress per operator instance, what its tasks wait for and its
    last notes, redrawn in place. Elsewhere (a pipe, a file): a line per run per refresh.
    Without a run id, a run whose database cannot be read is shown as UNREADABLE with the
    reason, and the others are shown."""
    if sys.stdout.isatty():
        _monitor_live(run, interval, once, workspaces_root)
        return
    from matterstack.cli.progress import render_line, snapshot

    started = time.monotonic()

    def line_of(handle) -> str:
        with open_store(handle) as store:
            counts, waiting, allowed = snapshot(store)
            return (f"{store.get_run().status.value:<10} "
                    + render_line(handle.run_id, counts, waiting, started, allowed_failures=allowed))

    while True:
        if run:
            lines = [line_of(handle_for(run, workspaces_root))]
        else:
            lines = [line if reason is None else f"{UNREADABLE:<10} {handle.run_id}  {reason}"
                     for handle, line, reason in _read_each_run(root(workspaces_root), line_of)]
        typer.echo("\n".join(lines) if lines else "No runs found.")
        if once:
            return
        time.sleep(interval)
        typer.echo("")


def _monitor_live(run: Optional[str], interval: float, once: bool, workspaces_root: Optional[Path]) -> None:
    from matterstack.cli import monitor_live

    explainer = monitor_live.Explainer()

    def view_of(handle):
        with open_store(handle) as store:
            return monitor_live.read_run(handle, store, explainer)

    def read_views():
        if run:
            return [view_of(handle_for(run, workspaces_root))]
        return [view if reason is None else monitor_live.RunView(handle.run_id, UNREADABLE, problem=reason)
                for handle, view, reason in _read_each_run(root(workspaces_root), view_of)]

    try:
        monitor_live.watch(read_views, interval, once)
    finally:
        explainer.close()


def register(app: typer.Typer) -> None:
    """Add the read-only commands to the ``matterstack`` app."""
    app.command("status")(status)
    app.command("attempts")(attempts)
    app.command("explain")(explain)
    app.command("export-evidence")(export_evidence)
    app.command("monitor")(monitor)
