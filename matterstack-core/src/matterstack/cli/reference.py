"""Markdown references generated from the code: the command line and the settings classes.

``python -m matterstack.cli.reference [FILE]`` writes the reference of every ``matterstack``
command, core's and the first-party plugins' (``human ...``, ``experiment ...``), to ``FILE``
(default ``docs/cli.md``); ``--settings`` prints instead one table per installed operator kind
and compute backend, made from its settings class, as ``docs/operators.md`` shows them.

The command tree is written by typer's own generator (``typer.cli.get_docs_for_click``, part
of the ``typer`` package); only the plugins to load are chosen here, so the page does not
depend on what else happens to be installed or on ``MATTERSTACK_*`` variables.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Sequence
from pathlib import Path

from matterstack.errors import PluginError
from matterstack.plugins.settings_docs import settings_rows, settings_sections, settings_table

__all__ = ["cli_reference", "command_tree", "every_command_path", "first_party_host", "main", "settings_reference",
           "settings_rows", "settings_table"]

FIRST_PARTY_PLUGINS = ("matterstack-ops-slurm", "matterstack-ops-human", "matterstack-ops-experiment")
"""The distributions whose commands the reference documents besides core's."""

REFRESH_COMMAND = "python -m matterstack.cli.reference"
"""The command that rewrites docs/cli.md."""

HEADER = (
    "<!-- Generated from the typer app by `{command}`; do not edit by hand. -->\n\n"
    "# Command-line reference\n\n"
    "Every `matterstack` command of matterstack-core and of the first-party plugins "
    "(`human` from matterstack-ops-human, `experiment` from matterstack-ops-experiment), "
    "with its arguments and options. Exit codes: 0 ok, 1 the run (or a check) failed, "
    "2 bad input or configuration, 3 the run is being stepped by another process.\n\n"
)


def first_party_host(plugins: Sequence[str] = FIRST_PARTY_PLUGINS):
    """A plugin host with core's built-ins and exactly ``plugins`` (the first-party ones).

    Raises :class:`PluginError` when one of them is missing or broken: the reference would
    silently lose its commands.
    """
    from matterstack.plugins.host import PluginHost

    host = PluginHost.load({"MATTERSTACK_LOAD_PLUGINS": ",".join(plugins)})
    if host.problems:
        problem = host.problems[0]
        raise PluginError(f"cannot document the command line: {problem.what}", fix=problem.fix)
    return host


@functools.cache
def command_tree():
    """The ``matterstack`` click command with the first-party plugins' sub-commands added.

    Built once per process: the plugins add their commands to the one shared typer app.
    """
    import typer.main

    from matterstack.cli.app import app

    first_party_host().install_cli(app)
    return typer.main.get_command(app)


def cli_reference(command=None) -> str:
    """docs/cli.md: usage, arguments and options (with help and defaults) of every command."""
    import typer
    from typer.cli import get_docs_for_click

    command = command or command_tree()
    context = typer.Context(command, info_name="matterstack")
    body = get_docs_for_click(obj=command, ctx=context, name="matterstack", title="`matterstack`")
    return HEADER.format(command=REFRESH_COMMAND) + _demote_headings(body).strip() + "\n"


def _demote_headings(markdown: str) -> str:
    """One level down, so the page has a single ``#`` title; code blocks are left alone."""
    lines, in_code = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        lines.append(f"#{line}" if line.startswith("#") and not in_code else line)
    return "\n".join(lines)


def every_command_path(command, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and sub-command below ``command``, as name tuples (``("human", "list")``)."""
    import typer

    paths = []
    if hasattr(command, "list_commands"):  # a group (typer's click, not necessarily ``click``)
        context = typer.Context(command)
        for name in command.list_commands(context):
            paths.append((*prefix, name))
            paths += every_command_path(command.get_command(context, name), (*prefix, name))
    return paths


def settings_reference(host=None) -> str:
    """A ``###`` section with the settings table of every operator kind and compute backend."""
    return settings_sections(host or first_party_host())


def main(argv: Sequence[str] | None = None) -> None:
    """Write docs/cli.md (or ``FILE``), or print the settings tables with ``--settings``."""
    parser = argparse.ArgumentParser(prog=REFRESH_COMMAND, description=main.__doc__)
    parser.add_argument("file", nargs="?", default="docs/cli.md", type=Path, help="where to write the CLI reference")
    parser.add_argument("--settings", action="store_true", help="print the settings tables instead")
    options = parser.parse_args(argv)
    from matterstack.cli.errors import reporting_errors

    with reporting_errors(debug=False):
        if options.settings:
            print(settings_reference(), end="")
            return
        options.file.write_text(cli_reference())
        print(f"wrote {options.file}")


if __name__ == "__main__":
    main()
