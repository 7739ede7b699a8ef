"""The ``matterstack`` typer app and its entry point :func:`main`.

Core commands come from the modules in ``COMMAND_MODULES`` (each has ``register(app)``);
plugins add theirs through the ``matterstack_cli`` hook when :func:`main` starts.
"""

from __future__ import annotations

import copy
import gc
import importlib
import sys
from collections.abc import Sequence

import typer

from matterstack.cli.errors import DEBUG_KEY, debug_requested, reporting_errors
from matterstack.plugins.command_names import command_name, command_names, group_name
from matterstack.plugins.switches import STRICT_PLUGINS, switched_on

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

REPORTING_ON_PLUGINS = frozenset({"plugins", "self-test", "doctor"})
"""Core commands that report what the plugins' own commands did when they were added."""

CORE_COMMANDS = frozenset(command_names(app)) - REPORTING_ON_PLUGINS
"""Core commands that run without the plugins' commands: plugins load only if the command
itself needs them (a tick, a wiring), so ``status`` never pays for importing them."""


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``matterstack`` command with ``argv``; without ``argv``, with the process's
    arguments, the process being the command (see :func:`_kept_for_the_process`)."""
    whole_process = argv is None
    args = sys.argv[1:] if whole_process else list(argv)
    try:
        with reporting_errors(debug=debug_requested(args)):
            if _invoked_name(args) not in CORE_COMMANDS or switched_on(STRICT_PLUGINS):
                from matterstack.plugins.host import get_plugin_host

                get_plugin_host().install_cli(app)
            if whole_process:
                _kept_for_the_process()
            _narrowed_to_command(app, args)(args=args, prog_name="matterstack")
    finally:
        if whole_process:
            _kept_for_the_process()


def _kept_for_the_process() -> None:
    """Take every object made so far out of the garbage collector's sight for the rest of the
    process (:func:`gc.freeze`): the modules, classes and app a command starts with live as
    long as it does, so a long ``loop`` never walks them again; and as the process ends,
    CPython collects once more over every object it tracks (30-35 ms of a ``step``: more
    than the rest of its collections together), where a frozen object costs nothing and the
    memory goes back with the process. Only for the process's own command: a program calling
    :func:`main` with arguments keeps its collector as it was."""
    gc.freeze()


def _invoked_name(args: list[str]) -> str:
    """The command or group ``args`` name (after ``--debug``); ``-`` when they start with an option."""
    return next(iter(args[1:] if args[:1] == ["--debug"] else args), "-")


def _narrowed_to_command(whole: typer.Typer, args: list[str]) -> typer.Typer:
    """``whole`` with only the command or group that ``args`` invoke, so that typer, which
    makes a click command of every command of an app before it parses anything (20-30 ms for
    all of them), makes only that one; ``whole`` itself when ``args`` do not start with a name
    of it (after ``--debug``) given exactly once (the root's help, a misspelt name: click lists
    or suggests the others)."""
    name = _invoked_name(args)
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
