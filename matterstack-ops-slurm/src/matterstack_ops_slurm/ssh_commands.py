"""``matterstack ssh login|logout|status``: the logins of instances whose ``ssh`` block sets
``control_persist`` (a cluster that asks for a one-time code; see
:mod:`matterstack_ops_slurm.control_master`).

Added to the ``matterstack`` app through the ``matterstack_cli`` hook. The instances are read
from ``--operators-config``, else the ``operators.yaml`` of the current folder (a
workspace's), else ``$MATTERSTACK_OPERATORS_CONFIG``, and built as a run builds them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

ssh_app = typer.Typer(
    name="ssh",
    help="Log in once to clusters that ask for a one-time code (instances with ssh.control_persist); ticks reuse the login.",
    no_args_is_help=True,
)

OPERATORS_CONFIG_HELP = ("The operators.yaml of the instances (default: operators.yaml in the current folder, "
                         "else $MATTERSTACK_OPERATORS_CONFIG).")
EXIT_LOGIN_FAILED = 1


def add_commands(app: typer.Typer) -> None:
    """Add the ``ssh`` command group to the ``matterstack`` app."""
    app.add_typer(ssh_app, name="ssh")


def _operators_file(given: Optional[Path]) -> Path:
    from matterstack.errors import ConfigError
    from matterstack.plugins import operators_file_for

    if given is not None:
        return given
    found = operators_file_for(Path.cwd())
    if found is None:
        raise ConfigError("no operators.yaml in the current folder and $MATTERSTACK_OPERATORS_CONFIG is not set",
                          where="matterstack ssh", fix="give --operators-config FILE, or run it in the workspace's folder")
    return found


def _login_instances(operators_config: Optional[Path], keys: list[str] | None) -> dict[str, object]:
    """``{key: OpenSshTransport}`` of ``keys`` (default: every instance that keeps a login).
    A key given that keeps no login is a ConfigError."""
    from matterstack.errors import ConfigError
    from matterstack.plugins import configured_operators

    from matterstack_ops_slurm.openssh_transport import OpenSshTransport

    path = _operators_file(operators_config)
    found = {}
    with configured_operators(path) as operators:
        for key in keys or operators.keys():
            transport = getattr(getattr(operators.get(key), "backend", None), "transport", None)
            if isinstance(transport, OpenSshTransport):
                found[key] = transport
            elif keys:
                raise ConfigError("this instance keeps no login: its backend's ssh block has no control_persist",
                                  where=f"{path}: operators.{key}",
                                  fix="add control_persist: 8h to its ssh block (docs/slurm.md, Multi-factor logins)")
    return found


@ssh_app.command("login")
def login(
    key: str = typer.Argument(..., help="The instance to log in for, e.g. hpc.default."),
    operators_config: Optional[Path] = typer.Option(None, "--operators-config", help=OPERATORS_CONFIG_HELP),
) -> None:
    """Log in to the instance's login node in this terminal (type your one-time code); ticks reuse the login."""
    from matterstack_ops_slurm.control_master import check, open_master

    transport = _login_instances(operators_config, [key])[key]
    target = transport.target
    state = check(target)
    if not state.running:
        typer.echo(f"{key}: logging in to {target.label} with OpenSSH; answer its prompts (your one-time code)", err=True)
        code = open_master(target)
        state = check(target)
        if code != 0 or not state.running:
            typer.echo(f"{key}: the login to {target.label} failed (ssh exit code {code}); ticks still need one", err=True)
            raise typer.Exit(EXIT_LOGIN_FAILED)
        typer.echo(f"{key}: logged in to {target.label}")
    else:
        typer.echo(f"{key}: already logged in to {target.label}")
    typer.echo(f"ticks reuse this login until it has been idle for {target.control_persist}; "
               f"`matterstack ssh logout {key}` ends it")


@ssh_app.command("logout")
def logout(
    key: str = typer.Argument(..., help="The instance whose login to close, e.g. hpc.default."),
    operators_config: Optional[Path] = typer.Option(None, "--operators-config", help=OPERATORS_CONFIG_HELP),
) -> None:
    """Close the instance's login (ssh -O exit); ticks then report that a login is needed."""
    from matterstack_ops_slurm.control_master import close_master

    target = _login_instances(operators_config, [key])[key].target
    if close_master(target):
        typer.echo(f"{key}: logged out of {target.label}")
    else:
        typer.echo(f"{key}: not logged in to {target.label}; nothing to close")


@ssh_app.command("status")
def status(
    operators_config: Optional[Path] = typer.Option(None, "--operators-config", help=OPERATORS_CONFIG_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Whether each instance that keeps a login (ssh.control_persist) is logged in."""
    from matterstack_ops_slurm.control_master import check

    rows = []
    for key, transport in _login_instances(operators_config, None).items():
        state = check(transport.target)
        said = f"logged in ({state.detail})" if state.running else f"login needed ({state.detail}): matterstack ssh login {key}"
        rows.append({"key": key, "target": transport.target.label, "logged_in": state.running, "status": said,
                     "control_persist": transport.target.control_persist})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no instance keeps a login (none sets ssh.control_persist)")
    width = max((len(row["key"]) for row in rows), default=0)
    for row in rows:
        typer.echo(f"{row['key']:<{width}}  {row['target']}  {row['status']}")
