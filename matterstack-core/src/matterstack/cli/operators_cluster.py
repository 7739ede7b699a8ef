"""``matterstack operators check --cluster``: after the file validates, ask each instance's
outside system whether it knows what the settings name (``check_settings`` of the operator,
which the compute kinds hand to their backend: a Slurm partition sinfo does not list).

A refused setting is bad input like any other (one line naming the file, the key path and the
fix; exit 2); an instance that cannot be reached is not checked (a ``note:``, exit 1), as
``doctor`` reports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from matterstack.errors import ConfigError, MatterStackError, TransientOperatorError

EXIT_NOT_CHECKED = 1


def cluster_check(path: Optional[Path]) -> tuple[list[ConfigError], list[str]]:
    """The settings of ``path`` (None: the embedded default) the outside systems refuse, and
    one note per instance that could not be asked."""
    import tempfile

    from matterstack.cli.doctor import _registry

    refused, unreached = [], []
    label = str(path) if path is not None else "embedded default"
    with tempfile.TemporaryDirectory(prefix="matterstack-check-") as scratch:
        registry = _registry(path, Path(scratch))
        try:
            for key in registry.keys():
                try:
                    problems = registry.get(key).check_settings()
                except TransientOperatorError as exc:
                    unreached.append(f"{key}: not checked against its system: {exc.one_line()}")
                    continue
                except MatterStackError as exc:
                    unreached.append(f"{key}: not checked: {exc.one_line()}")
                    continue
                refused += [ConfigError(problem, where=f"{label}: operators.{key}.{where}", fix=fix)
                            for where, problem, fix in problems]
        finally:
            registry.close()
    return refused, unreached


def report_cluster_check(paths: list[Optional[Path]]) -> None:
    """Print what :func:`cluster_check` finds for each file; exit 2 on a refused setting, 1
    when an instance could not be asked, else go on."""
    refused, unreached = [], []
    for path in paths:
        more_refused, more_unreached = cluster_check(path)
        refused += more_refused
        unreached += more_unreached
    for line in unreached:
        typer.echo(f"note: {line}")
    for error in refused:
        typer.echo(f"Error: {error.one_line()}", err=True)
    if refused:
        raise typer.Exit(refused[0].exit_code)
    if unreached:
        raise typer.Exit(EXIT_NOT_CHECKED)
    typer.echo("every instance's system knows its settings")
