"""The ``matterstack`` typer app and its entry point :func:`main`.

Core commands come from the modules in ``COMMAND_MODULES`` (each has ``register(app)``);
plugins add theirs through the ``matterstack_cli`` hook when :func:`main` starts.
"""

from __future__ import annotations

import copy
import importlib
import sys
from collections.abc import Sequence

import typer

from matterstack.cli.errors import DEBUG_KEY, debug_requested, reporting_errors

COMMAND_MODULES = (
    "matterstack.cli.lifecycle",
    "matterstack.cli.read_only_commands",
    "matterstack.cli.control",
    "matterstack.cli.repair",
    "matterstack.cli.plugins_command",
    "matterstack.cli.plugin_new",
    "matterstack.cli.operators_command",
    "matterstack.cli.self_test",
    "matterstack.cli.doctor",
)

app = typer.Typer(
    name="matterstack",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
)


def _print_versions(value: bool) -> None:
    if not value:
        return
    from importlib import metadata

    plugins = {
        entry_point.dist.name: entry_point.dist.version
        for entry_point in metadata.entry_points(group="matterstack")
        if entry_point.dist is not None
    }
    typer.echo(f"matterstack-core {metadata.version('matterstack-core')}")
    for name in sorted(plugins):
        typer.echo(f"{name} {plugins[name]}")
    raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an error."),
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_versions, help="List the installed MatterStack distributions."
    ),
) -> None:
    """Run long scientific campaigns across this machine, HPC clusters, people and instruments."""
    ctx.meta[DEBUG_KEY] = debug


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``matterstack`` command with ``argv`` (default: the process's arguments)."""
    args = sys.argv[1:] if argv is None else list(argv)
    with reporting_errors(debug=debug_requested(args)):
        from matterstack.plugins.host import get_plugin_host

        get_plugin_host().install_cli(app)
        _narrowed_to_command(app, args)(args=args, prog_name="matterstack")


def _narrowed_to_command(whole: typer.Typer, args: list[str]) -> typer.Typer:
    """``whole`` with only the command or group that ``args`` invoke, so that typer, which
    makes a click command of every command of an app before it parses anything (20-30 ms for
    all of them), makes only that one; ``whole`` itself when ``args`` do not start with a name
    of it (after ``--debug``) given exactly once (the root's help, a misspelt name: click lists
    or suggests the others)."""
    from matterstack.plugins.host import command_name, group_name

    name = next(iter(args[1:] if args[:1] == ["--debug"] else args), "-")
    groups = [(group_name(info), info) for info in whole.registered_groups]
    if name.startswith("-") or any(found is None for found, _ in groups):
        return whole
    commands = [info for info in whole.registered_commands if command_name(info) == name]
    groups = [info for found, info in groups if found == name]
    if len(commands) + len(groups) != 1:
        return whole
    narrowed = copy.copy(whole)
    narrowed.registered_commands, narrowed.registered_groups = commands, groups
    return narrowed


if __name__ == "__main__":
    main()
