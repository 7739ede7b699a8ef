"""``matterstack operators check [FILE]``: validate an operators.yaml exactly as a run would,
without touching any run, and print the instances it configures."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

operators_app = typer.Typer(name="operators", no_args_is_help=True, help="Inspect operator wiring (operators.yaml).")

COLUMNS = (("KEY", "key"), ("KIND", "kind"), ("BACKEND", "backend"), ("MAX_CONCURRENT", "max_concurrent"),
           ("ROOT", "root"))


def check_report(path: Path, host: Any, config: Optional[Path] = None) -> dict[str, Any]:
    """What ``operators check --json`` prints: the file, its sha256, the defaults and one row
    per instance (``key``, ``kind``, ``backend``, ``max_concurrent``, ``root``; a ``profile``
    backend also gets ``profile``: the recipe's name, type and file). Raises the one
    ConfigError of the first problem, a profile that does not resolve included."""
    from matterstack.wiring.document import load_operators_file
    from matterstack.wiring.profiles import PROFILE_BACKEND_TYPE, resolve_profile
    from matterstack.wiring.summary import backend_root, instance_row

    notes = []
    wiring = load_operators_file(path, host, notes=notes)
    rows = []
    for instance in wiring.instances.values():
        row = instance_row(instance, host)
        if row["backend"] == PROFILE_BACKEND_TYPE:
            block = instance.settings.backend
            resolved = resolve_profile(block["name"], host=host, config=block.get("config") or config)
            profile = resolved.profile
            row["profile"] = {"name": profile.name, "type": profile.backend_type, "file": profile.file}
            row["root"] = backend_root(profile.backend_type, profile.options, host)
        rows.append(row)
    return {"file": str(path), "sha256": wiring.sha256, "default_operator": wiring.default_operator,
            "max_concurrent": wiring.max_concurrent, "instances": rows,
            "notes": [note.one_line() for note in notes]}


def _cell(row: dict[str, Any], field: str) -> str:
    value = row[field]
    if field == "backend" and "profile" in row:
        return f"{value}:{row['profile']['name']} ({row['profile']['type']})"
    return "-" if value is None else str(value)


@operators_app.command("check")
def check(
    file: Path = typer.Argument(Path("operators.yaml"), help="The operators.yaml to check (default: ./operators.yaml)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Read the profiles of profile backends from this file alone."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Validate operators.yaml as a run would (no run is touched) and list its instances.

    One row per instance: key, kind, backend type, max_concurrent and root (where its jobs
    run). A problem is one line naming the file, the key path and the fix, with exit code 2.
    """
    import json

    from matterstack.plugins.host import get_plugin_host

    report = check_report(file, get_plugin_host(), config)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    cap = report["max_concurrent"] if report["max_concurrent"] is not None else "none"
    typer.echo(f"{report['file']}: valid, {len(report['instances'])} instance(s); "
               f"default operator {report['default_operator']}; global max_concurrent {cap}")
    table = [[title for title, _ in COLUMNS]] + [[_cell(row, field) for _, field in COLUMNS] for row in report["instances"]]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    for line in table:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
    for note in report["notes"]:
        typer.echo(note)


def register(app: typer.Typer) -> None:
    """Add the ``operators`` command group to the ``matterstack`` app."""
    app.add_typer(operators_app, name="operators")
