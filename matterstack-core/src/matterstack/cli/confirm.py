"""The ``[y/N]`` question MatterStack 0.2.x asked before ``rerun`` and ``reset-run`` acted.

Asked only when a person can answer (stdin is a terminal). A script that leaves out
``--force`` is refused with one line naming it, rather than blocking on a question nobody
sees or acting without the consent the command used to ask for.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import typer

from matterstack.errors import ConfigError

ABORTED_EXIT_CODE = 0
"""0.2.x ended with "Aborted." and exit code 0 when the answer was not yes."""


def confirm_or_stop(*, force: bool, command: str, intro: Callable[[], Sequence[str]], question: str) -> None:
    """Return when ``matterstack <command>`` may act: ``force``, or a person answered yes.

    ``intro()`` (lines printed before the question, read only when asking) says what would
    change. Not a terminal and no ``force``: a ConfigError naming ``--force`` (exit code 2),
    before anything is read. Any answer but y/yes (or end of input): "Aborted." and exit
    code 0, as 0.2.x did.
    """
    if force:
        return
    if not sys.stdin.isatty():
        raise ConfigError(f"`matterstack {command}` asks [y/N] before it acts, and stdin is not a terminal",
                          fix=f"add --force to {command} without asking")
    for line in intro():
        typer.echo(line)
    try:
        answer = input(f"\n{question} [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        typer.echo("Aborted.")
        raise typer.Exit(ABORTED_EXIT_CODE)
