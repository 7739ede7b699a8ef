"""Run control commands: ``pause``, ``resume``, ``cancel``, ``revive``, ``rerun``,
``cancel-attempt``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from matterstack.cli.runs import WorkspacesRoot, handle_for

RunArg = typer.Argument(..., help="Run id.")
LOCK_PATIENCE_SECONDS = 5.0
LOCK_RETRY_SECONDS = 0.01


def echo_result(result) -> None:
    """Print what a control command changed, then the run's status."""
    for message in result.messages:
        typer.echo(message)
    typer.echo(f"Run status: {result.status.value}")


def _when_unlocked(action):
    """``action()``, retried while a tick holds the run lock (ticks are short, and a person
    typing ``cancel`` beside a running ``loop`` should not have to retry), for at most
    LOCK_PATIENCE_SECONDS; then the RunLockedError (exit code 3) stands. Every control action
    takes the lock before it changes anything, so a refused try changed nothing."""
    from matterstack.errors import RunLockedError

    deadline = time.monotonic() + LOCK_PATIENCE_SECONDS
    while True:
        try:
            return action()
        except RunLockedError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(LOCK_RETRY_SECONDS)


def with_registry(handle, action):
    """``action(registry)`` under the lock, with the operators the run is wired to (its
    operators.yaml snapshot, else what its first tick would pin; a control command pins
    nothing)."""
    from matterstack.cli.wiring_flags import WiringFlags

    registry = WiringFlags().registry(handle, pin=False)
    try:
        return _when_unlocked(lambda: action(registry))
    finally:
        registry.close()


def pause(run: str = RunArg, workspaces_root: Optional[Path] = WorkspacesRoot) -> None:
    """Stop submitting new work; running work is still polled and collected."""
    from matterstack.orchestrator import control

    handle = handle_for(run, workspaces_root)
    echo_result(_when_unlocked(lambda: control.pause(handle)))


def resume(run: str = RunArg, workspaces_root: Optional[Path] = WorkspacesRoot) -> None:
    """Let a paused run submit again."""
    from matterstack.orchestrator import control

    handle = handle_for(run, workspaces_root)
    echo_result(_when_unlocked(lambda: control.resume(handle)))


def cancel(run: str = RunArg, workspaces_root: Optional[Path] = WorkspacesRoot) -> None:
    """Stop every active attempt through its operator and mark the run CANCELLED."""
    from matterstack.orchestrator import control

    handle = handle_for(run, workspaces_root)
    echo_result(with_registry(handle, lambda registry: control.cancel(handle, registry)))


def revive(run: str = RunArg, workspaces_root: Optional[Path] = WorkspacesRoot) -> None:
    """Move a finished run back to PENDING so ticks continue it."""
    from matterstack.orchestrator import control

    handle = handle_for(run, workspaces_root)
    echo_result(_when_unlocked(lambda: control.revive(handle)))


def rerun(
    run: str = RunArg,
    task: str = typer.Argument(..., help="Task id."),
    recursive: bool = typer.Option(False, "--recursive", help="Also rerun every task that depends on it."),
    force: bool = typer.Option(False, "--force",
                               help="Do not ask [y/N] first, and cancel an active attempt first."),
    time_limit: Optional[str] = typer.Option(None, "--time-limit", metavar="MINUTES",
                                             help="New time limit of the task, in whole minutes."),
    cores: Optional[str] = typer.Option(None, "--cores", metavar="N", help="New number of cores of the task."),
    memory_gb: Optional[str] = typer.Option(None, "--memory-gb", metavar="GB", help="New memory of the task, in GB."),
    gpus: Optional[str] = typer.Option(None, "--gpus", metavar="N", help="New number of GPUs of the task (0: none)."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """Give a task a new attempt; earlier attempts and their files stay as they are.

    Asks [y/N] first, as MatterStack 0.2.x did, unless --force; when stdin is not a terminal
    (a script), --force is required. With --time-limit, --cores, --memory-gb or --gpus the task
    (not its dependents) gets those resources from this attempt on; the change is recorded and
    shown by `attempts` and `explain`."""
    from matterstack.cli.confirm import confirm_or_stop
    from matterstack.cli.repair import about_to
    from matterstack.orchestrator import control

    resources = control.check_resources({"time_limit_minutes": time_limit, "cores": cores,
                                         "memory_gb": memory_gb, "gpus": gpus})
    handle = handle_for(run, workspaces_root)
    confirm_or_stop(force=force, command="rerun", intro=about_to(handle, "RERUN (reset to PENDING)", task, recursive),
                    question="Proceed?")
    echo_result(with_registry(handle, lambda registry: control.rerun(
        handle, registry, task, recursive=recursive, force=force, resources=resources)))


def cancel_attempt(
    run: str = RunArg,
    attempt: str = typer.Argument(..., help="Attempt id (see `matterstack attempts`)."),
    force: bool = typer.Option(False, "--force", help="Accepted for MatterStack 0.2.x scripts, where it skipped "
                               "a [y/N] question; cancel-attempt does not ask."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """Stop one attempt through its operator and mark it CANCELLED."""
    from matterstack.orchestrator import control

    handle = handle_for(run, workspaces_root)
    echo_result(with_registry(handle, lambda registry: control.cancel_attempt(handle, registry, attempt)))


def register(app: typer.Typer) -> None:
    """Add the run control commands to the ``matterstack`` app."""
    for name, fn in (("pause", pause), ("resume", resume), ("cancel", cancel), ("revive", revive),
                     ("rerun", rerun), ("cancel-attempt", cancel_attempt)):
        app.command(name)(fn)
