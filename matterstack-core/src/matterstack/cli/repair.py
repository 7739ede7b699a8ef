"""MatterStack 0.2.x's repair commands: ``reset-run`` (run tasks again, or take them out of
the run) and ``cleanup-orphans`` (attempts never handed to anything outside)."""

from __future__ import annotations

from datetime import timezone
from pathlib import Path
from typing import Optional

import typer

from matterstack.cli.runs import WorkspacesRoot, handle_for, open_store

RESET_ACTIONS = ("reset", "delete")


def tasks_affected(handle, task: str, recursive: bool) -> list[str]:
    """``task`` and, with ``recursive``, every task depending on it, sorted as 0.2.x listed
    them before asking; an unknown task is a StoreError naming it."""
    with open_store(handle) as store:
        store.get_task(task)
        return sorted([task, *(store.dependents(task, transitive=True) if recursive else [])])


def about_to(handle, what: str, task: str, recursive: bool):
    """The lines 0.2.x printed before asking: what the command does to which tasks."""
    def intro() -> list[str]:
        return [f"You are about to {what} the following tasks in run {handle.run_id}:",
                *(f"  - {t}" for t in tasks_affected(handle, task, recursive))]
    return intro


def reset_run(
    run: str = typer.Argument(..., help="Run id."),
    task: str = typer.Argument(..., help="Task id."),
    action: str = typer.Option("reset", "--action", metavar="reset|delete",
                               help="reset: run the task again (a new attempt); delete: take it out of the run."),
    recursive: bool = typer.Option(False, "--recursive", help="Also every task that depends on it."),
    force: bool = typer.Option(False, "--force", help="Do not ask [y/N] first (required when stdin is not a terminal)."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """Run a task again or take it out of the run (MatterStack 0.2.x's reset-run).

    `--action reset` is `rerun --force`: an active attempt is stopped, the task gets a new
    attempt on the next tick, a finished run is revived. `--action delete` stops an active
    attempt and sets the task SKIPPED with the reason "deleted by user": the run goes on
    without it. Unlike 0.2.x, which deleted the task's row, its attempts, their events and
    files stay, so the run's history stays whole and `rerun` brings the task back. Asks [y/N]
    first unless --force."""
    from matterstack.cli.confirm import confirm_or_stop
    from matterstack.cli.control import echo_result, with_registry
    from matterstack.errors import ConfigError
    from matterstack.orchestrator import control

    if action not in RESET_ACTIONS:
        raise ConfigError(f"unknown action {action!r}", where="reset-run --action",
                          fix="use --action reset (run it again) or --action delete (take it out of the run)")
    handle = handle_for(run, workspaces_root)
    confirm_or_stop(force=force, command="reset-run", intro=about_to(handle, action.upper(), task, recursive),
                    question="Are you sure?")
    if action == "reset":
        result = with_registry(handle, lambda registry: control.rerun(
            handle, registry, task, recursive=recursive, force=True, reason="reset by user (reset-run)"))
    else:
        result = with_registry(handle, lambda registry: control.delete_tasks(handle, registry, task,
                                                                             recursive=recursive))
    echo_result(result)


def cleanup_orphans(
    run_id: Optional[str] = typer.Option(None, "--run-id", metavar="RUN", help="Run id (required)."),
    timeout: str = typer.Option("1h", "--timeout", metavar="AGE", help="How old a CREATED attempt must be: 1h, 30m, 3600s or 3600."),
    confirm: bool = typer.Option(False, "--confirm", help="Mark them FAILED_INIT (without it, only list them)."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """List attempts stuck in CREATED with no external id for longer than --timeout; with
    --confirm, mark them FAILED_INIT (their tasks become FAILED; `rerun --force` runs them again).

    Nothing outside ever received such an attempt, so marking it stops no work."""
    from matterstack.cli.control import with_registry
    from matterstack.core.times import utc_now
    from matterstack.errors import ConfigError
    from matterstack.orchestrator import control
    from matterstack.orchestrator.orphans import describe_age, find_orphans, parse_timeout

    age = parse_timeout(timeout)
    if run_id is None:
        raise ConfigError("no run named", where="cleanup-orphans",
                          fix="name the run: `matterstack cleanup-orphans --run-id RUN`")
    handle = handle_for(run_id, workspaces_root)
    now = utc_now()
    with open_store(handle) as store:
        orphans = find_orphans(store.active_attempts(), now, age)
    if not orphans:
        typer.echo(f"No orphaned attempts found in run {handle.run_id}.")
        return
    typer.echo(f"Found {len(orphans)} orphaned attempt(s):")
    for attempt in orphans:
        created = attempt.created_at.astimezone(timezone.utc).replace(tzinfo=None)
        typer.echo(f"  - {attempt.attempt_id} (task: {attempt.task_id})")
        typer.echo(f"      Created: {created} UTC")
        typer.echo(f"      Age: {describe_age(attempt.created_at, now)}")
        typer.echo(f"      Reason: No external_id, CREATED > {timeout}")
    if not confirm:
        typer.echo("\nRun with --confirm to mark these as FAILED_INIT.")
        return
    marked = with_registry(handle, lambda registry: control.fail_orphans(handle, registry, age, timeout))
    typer.echo(f"\nMarked {len(marked)} attempt(s) as FAILED_INIT.")
    if marked:
        tasks = " ".join(sorted({a.task_id for a in marked}))
        typer.echo(f"Their tasks are FAILED: `matterstack rerun {handle.run_id} TASK --force` runs one again ({tasks}).")


def register(app: typer.Typer) -> None:
    """Add 0.2.x's repair commands to the ``matterstack`` app."""
    app.command("reset-run")(reset_run)
    app.command("cleanup-orphans")(cleanup_orphans)
