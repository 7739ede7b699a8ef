"""``matterstack plugin new KIND``: start a plugin distribution for a new operator kind."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

plugin_app = typer.Typer(no_args_is_help=True, help="Write plugins of your own.")


@plugin_app.command("new")
def new(
    kind: str = typer.Argument(..., metavar="KIND", help="The operator kind's name: lowercase letters, digits and _."),
    directory: Optional[Path] = typer.Option(
        None, "--dir", help="The folder to write (new or empty). Default: ./matterstack-ops-KIND."),
) -> None:
    """Write a plugin distribution for operator kind KIND, ready to install and test.

    The folder holds pyproject.toml (the distribution matterstack-ops-KIND, its `matterstack`
    entry point naming the registration module), src/matterstack_ops_KIND/register.py (the
    settings class and the registration), operator.py (a CommandOperator that runs each
    task's command with the `shell` setting), tests/test_conformance.py (MatterStack's
    conformance kit), tests/test_readme.py, and a README.md with the settings table that
    `matterstack plugins --settings KIND` prints. As written it installs and passes its tests:
    `pip install -e './matterstack-ops-KIND[test]'` then `python -m pytest` in the folder.
    Change the settings class and `command` to make the kind your own.
    """
    from matterstack.plugins.host import get_plugin_host
    from matterstack.plugins.scaffold import write_distribution

    folder = directory if directory is not None else Path(f"matterstack-ops-{kind.replace('_', '-')}")
    written = write_distribution(kind, folder, get_plugin_host())
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"next: pip install -e '{folder}[test]' && (cd {folder} && python -m pytest)")


def register(app: typer.Typer) -> None:
    """Add ``plugin`` (with ``plugin new``) to the ``matterstack`` app."""
    app.add_typer(plugin_app, name="plugin")
