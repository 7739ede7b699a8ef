"""``matterstack human``: list, show and answer the requests that wait for a person, on the
terminal or on the approvals page (``serve``).

Added to the ``matterstack`` app through the ``matterstack_cli`` hook. Only typer is
imported here; the state store, the operators and the web libraries load when a command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

if TYPE_CHECKING:
    from matterstack.plugins import ProjectView

human_app = typer.Typer(
    name="human",
    help="List, show and answer the requests that wait for a person.",
    no_args_is_help=True,
)

WorkspacesRoot = typer.Option(
    None,
    "--workspaces-root",
    envvar="MATTERSTACK_WORKSPACES_ROOT",
    help="Folder holding the workspaces (default: the nearest `workspaces/` walking up).",
)
JsonFlag = typer.Option(False, "--json", help="Print machine-readable JSON.")


def add_commands(app: typer.Typer) -> None:
    """Add the ``human`` command group to the ``matterstack`` app."""
    app.add_typer(human_app, name="human")


def _project(workspaces_root: Optional[Path]) -> ProjectView:
    from matterstack.plugins import ProjectView

    return ProjectView.find(workspaces_root)


@human_app.command("list")
def list_requests(as_json: bool = JsonFlag, workspaces_root: Optional[Path] = WorkspacesRoot) -> None:
    """Every request waiting for a person, in every run of the project, oldest first."""
    from matterstack_ops_human.pending import age, pending_requests

    requests, problems = pending_requests(_project(workspaces_root))
    for problem in problems:
        typer.echo(f"warning: cannot read {problem}", err=True)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in requests], indent=2))
        return
    if not requests:
        typer.echo("No request waits for a person.")
        return
    for r in requests:
        typer.echo(f"{r.task.task_id} - waiting {age(r.since)} - run {r.run_id} ({r.operator_key}): {r.summary}")


@human_app.command("show")
def show(
    run: str = typer.Argument(..., help="Run id (or run directory)."),
    task: str = typer.Argument(..., help="Task id."),
    as_json: bool = JsonFlag,
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """A request's instructions, what the answer must contain and where to answer."""
    from matterstack_ops_human.pending import MANUAL_HPC_KIND, age, current_request
    from matterstack_ops_human.handoff import INSTRUCTIONS_FILE
    from matterstack_ops_human.response import RESPONSE_FILE, data_schema_for, envelope_schema
    from matterstack_ops_human.schema import describe_fields

    request = current_request(_project(workspaces_root).run_dir(run), task)
    try:
        instructions = (request.attempt_dir / INSTRUCTIONS_FILE).read_text(errors="replace")
    except OSError:
        instructions = f"(no {INSTRUCTIONS_FILE})\n"
    if request.kind == MANUAL_HPC_KIND:
        _show_bundle(request, instructions, as_json)
        return
    schema = data_schema_for(request.task, request.attempt_dir)
    refusal = request.refusal()
    answer_path = request.attempt_dir / RESPONSE_FILE
    if as_json:
        typer.echo(json.dumps({**request.as_dict(), "waiting": refusal is None, "not_waiting_because": refusal,
                               "instructions_md": instructions, "schema": envelope_schema(schema),
                               "response_path": str(answer_path)}, indent=2))
        return
    since = request.since.isoformat() if request.since else "?"
    typer.echo(f"Run {request.run_id}, task {task}: attempt #{request.attempt.attempt_index} on "
               f"{request.operator_key}, {request.attempt.status.value} since {since} ({age(request.since)})")
    if refusal:
        typer.echo(f"Not waiting for an answer: {refusal}")
    typer.echo(f"Answer in: {answer_path}\n")
    typer.echo(instructions.rstrip("\n") + "\n")
    typer.echo("The answer's data:")
    for line in describe_fields(schema) or ["any fields (or none)"]:
        typer.echo(f"  - {line}")
    typer.echo("\nAnswer with:")
    typer.echo(f"  matterstack human respond {request.run_id} {task} --approve [--data key=value ...]")
    typer.echo(f"  matterstack human respond {request.run_id} {task} --reject --message \"why\"")


def _show_bundle(request, instructions: str, as_json: bool) -> None:
    """``human show`` of a ``manual_hpc`` job bundle: its instructions, and where the job's
    results go back (there is no response to write)."""
    from matterstack_ops_human.manual_hpc import OUTPUT_DIR, STATUS_FILE
    from matterstack_ops_human.pending import age

    refusal = request.refusal()
    if as_json:
        typer.echo(json.dumps({**request.as_dict(), "waiting": refusal is None, "not_waiting_because": refusal,
                               "instructions_md": instructions, "bundle_dir": str(request.attempt_dir)}, indent=2))
        return
    since = request.since.isoformat() if request.since else "?"
    typer.echo(f"Run {request.run_id}, task {request.task.task_id}: job bundle, attempt "
               f"#{request.attempt.attempt_index} on {request.operator_key}, {request.attempt.status.value} "
               f"since {since} ({age(request.since)})")
    if refusal:
        typer.echo(f"Not waiting for results: {refusal}")
    typer.echo(f"Bundle: {request.attempt_dir}\n")
    typer.echo(instructions.rstrip("\n") + "\n")
    typer.echo(f"Answer by copying {OUTPUT_DIR}/ and then {STATUS_FILE} back into the bundle;"
               f" `human respond` does not apply to job bundles.")


@human_app.command("respond")
def respond(
    run: str = typer.Argument(..., help="Run id (or run directory)."),
    task: str = typer.Argument(..., help="Task id."),
    approve: bool = typer.Option(False, "--approve", help="Answer COMPLETED."),
    reject: bool = typer.Option(False, "--reject", help="Answer FAILED."),
    data: Optional[List[str]] = typer.Option(
        None, "--data", help="key=value for the answer's data; a JSON literal (3, true, [\"Pt\"]) or else text."),
    files: Optional[List[Path]] = typer.Option(None, "--file", help="A file to attach (copied next to the answer)."),
    message: Optional[str] = typer.Option(None, "--message", help="Why (a rejection's error, an approval's note)."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """Answer a request: write its response.json, checked against its schema first."""
    from matterstack.errors import ConfigError

    from matterstack_ops_human import answering
    from matterstack_ops_human.pending import current_request

    if approve == reject:
        raise ConfigError("give exactly one of --approve and --reject", where="matterstack human respond",
                          fix="--approve to accept, --reject --message \"why\" to refuse")
    request = current_request(_project(workspaces_root).run_dir(run), task)
    path = answering.respond(request, approve=approve, data_items=data or [], files=files or [], message=message)
    verdict = "approved" if approve else "rejected"
    typer.echo(f"{task} {verdict}: wrote {path}")
    typer.echo(f"The next `matterstack step {request.run_id}` (or a running loop) hands the answer to the campaign.")


@human_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host",
                             help="Address to listen on; another than 127.0.0.1 opens the page to the network "
                                  "(put it behind TLS)."),
    port: int = typer.Option(8765, "--port", help="Port to listen on; 0 picks a free one."),
    password_file: Optional[Path] = typer.Option(
        None, "--password-file", help="Sign in with the password on this file's first line instead of a random "
                                      "token in the URL."),
    name: str = typer.Option("", "--name", help="The name the answer form starts with (who answers is recorded)."),
    refresh_seconds: float = typer.Option(3.0, "--refresh-seconds", min=0.2,
                                          help="How often the page checks for new or answered requests."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
) -> None:
    """Serve the approvals page: every waiting request, answered from a form (checked as `respond` checks)."""
    from matterstack_ops_human.web.access import Access, read_password_file
    from matterstack_ops_human.web.pages import ApprovalsApp
    from matterstack_ops_human.web.server import serve as run_server

    access = Access(read_password_file(password_file)) if password_file else Access()
    app = ApprovalsApp(_project(workspaces_root), access, default_name=name, refresh_seconds=refresh_seconds)
    run_server(app, host, port, token_in_url=password_file is None, say=typer.echo)  # typer.echo flushes each line
