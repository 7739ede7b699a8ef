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
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from matterstack.errors import PluginError

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

_TYPE_WORDS = {str: "string", int: "integer", float: "number", bool: "true/false", typing.Any: "any"}


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


def _type_word(type_: Any) -> str:
    args = [a for a in typing.get_args(type_) if a is not type(None)]
    origin = typing.get_origin(type_)
    if origin in (list, tuple, set):
        return f"list of {_type_word(args[0])}s" if args else "list"
    if origin is dict or type_ is dict:
        return "mapping"
    if args and origin is not None:
        return " or ".join(_type_word(a) for a in args)
    if attrs.has(type_):
        return "mapping"
    return _TYPE_WORDS.get(type_, getattr(type_, "__name__", str(type_)))


def _default_word(field: attrs.Attribute) -> str:
    default = field.default
    if default is attrs.NOTHING:
        return "required"
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return "`[]`" if default.factory is list else "`{}`"
    if default is None:
        return "-"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    return f"`{default}`"


def settings_rows(cls: type, prefix: str = "") -> list[str]:
    """One Markdown table row per field of settings class ``cls`` (nested classes dotted)."""
    rows = []
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        # a pass-through field has no key of its own: it stands for the block's other keys
        name = f"{prefix}*" if "pass_through" in field.metadata else f"{prefix}{field.name}"
        help_text = str(field.metadata.get("help", "")).replace("|", "\\|")
        if field.metadata.get("env"):
            help_text += f" (environment: `{field.metadata['env']}`)"
        if field.metadata.get("aliases"):
            help_text += " (0.2.x: " + ", ".join(f"`{alias}`" for alias in field.metadata["aliases"]) + ")"
        if "pass_through" in field.metadata:
            rows.append(f"| `{name}` | {_type_word(typing.get_args(hints[field.name])[1])} | - | {help_text} |")
            continue
        rows.append(f"| `{name}` | {_type_word(hints[field.name])} | {_default_word(field)} | {help_text} |")
        for inner in (hints[field.name], *typing.get_args(hints[field.name])):
            if attrs.has(inner):
                rows += settings_rows(inner, f"{name}.")
    return rows


def settings_table(cls: type) -> str:
    """The Markdown table of settings class ``cls``: key, type, default, help."""
    rows = settings_rows(cls)
    if not rows:
        return "(no settings)\n"
    return "| key | type | default | meaning |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"


def settings_reference(host=None) -> str:
    """A ``###`` section with the settings table of every operator kind and compute backend."""
    host = host or first_party_host()
    sections = []
    for category, registry in (("kind", host.operator_kinds), ("backend", host.compute_backends)):
        for name, registration in registry.items():
            sections.append(f"### {category} `{name}` ({registration.distribution})\n\n{settings_table(registration.settings)}")
    return "\n".join(sections)


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
