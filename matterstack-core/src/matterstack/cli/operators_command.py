"""``matterstack operators check [FILE]``: validate an operators.yaml exactly as a run would,
without touching any run, and print the instances it configures.

Without ``FILE`` it checks what a new run of each workspace of the project would be pinned to
(``--workspace SLUG``: of that workspace alone): the workspace's own ``operators.yaml``
(``WORKSPACE_DEFAULT``), else ``$MATTERSTACK_OPERATORS_CONFIG`` (``ENV_VAR``), else the
embedded default, and says which."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from matterstack.cli.runs import WorkspacesRoot

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
        _refuse_unbuildable(path, instance.key, host.operator_kind(instance.kind),
                            host.compute_backends.get(row["backend"]) if row["backend"] else None)
        if row["backend"] == PROFILE_BACKEND_TYPE:
            profile_settings = instance.settings.backend.settings
            resolved = resolve_profile(profile_settings.name, host=host, config=profile_settings.config or config)
            profile = resolved.profile
            row["profile"] = {"name": profile.name, "type": profile.backend_type, "file": profile.file}
            row["root"] = backend_root(profile.backend_type, profile.options, host)
        rows.append(row)
    return {"file": str(path), "sha256": wiring.sha256, "default_operator": wiring.default_operator,
            "max_concurrent": wiring.max_concurrent, "instances": rows,
            "notes": [note.one_line() for note in notes]}


def _refuse_unbuildable(path: Path, key: str, *registrations) -> None:
    """ConfigError when the plugin of an instance's kind or backend registered a factory that
    cannot build it (a target that does not resolve): every attempt on it would fail."""
    from matterstack.errors import ConfigError

    for registration in registrations:
        if registration is not None and registration.problem is not None:
            raise ConfigError(f"{registration.label} cannot build it: {registration.problem}",
                              where=f"{path}: operators.{key}",
                              fix=f"fix or upgrade {registration.distribution} (see `matterstack plugins`)")


def embedded_report(host) -> dict[str, Any]:
    """The :func:`check_report` of the embedded default (no file)."""
    from matterstack.wiring.model import embedded_default_wiring
    from matterstack.wiring.summary import instance_row

    wiring = embedded_default_wiring(host)
    return {"file": None, "sha256": None, "default_operator": wiring.default_operator,
            "max_concurrent": wiring.max_concurrent,
            "instances": [instance_row(instance, host) for instance in wiring.instances.values()], "notes": []}


def workspace_reports(workspaces: list, host: Any, config: Optional[Path] = None) -> list[dict[str, Any]]:
    """One report per workspace: ``workspace`` (its slug), ``source`` (``WORKSPACE_DEFAULT``,
    ``ENV_VAR`` or ``embedded default``) and the :func:`check_report` of that file. A bad
    file raises its one ConfigError, as a run of that workspace would. Without workspaces,
    one report (``workspace`` None) of what the environment alone gives."""
    from matterstack.wiring.precedence import EMBEDDED_DEFAULT, ambient_request

    reports = []
    for slug, path in [(workspace.slug, workspace.path) for workspace in workspaces] or [(None, None)]:
        request = ambient_request(path, host=host)
        if request is None:
            report = {"source": EMBEDDED_DEFAULT, **embedded_report(host)}
        else:
            report = {"source": request.source, **check_report(Path(request.resolved_path), host, config)}
        reports.append({"workspace": slug, **report})
    return reports


def project_workspaces(root: Path) -> list:
    """Every workspace below the workspaces root: each folder holding a ``main.py``, by slug."""
    import os

    from matterstack.project.layout import Workspace

    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if "main.py" in filenames:
            found.append(Workspace(path=here, slug=here.relative_to(root).as_posix()))
            dirnames[:] = []
            continue
        dirnames[:] = sorted(d for d in dirnames if d != "runs" and not d.startswith((".", "__")))
    return sorted(found, key=lambda workspace: workspace.slug)


def _cell(row: dict[str, Any], field: str) -> str:
    value = row[field]
    if field == "backend" and "profile" in row:
        return f"{value}:{row['profile']['name']} ({row['profile']['type']})"
    return "-" if value is None else str(value)


@operators_app.command("check")
def check(
    file: Optional[Path] = typer.Argument(
        None, help="The operators.yaml to check (default: the file each workspace's runs would use)."),
    workspace: Optional[str] = typer.Option(
        None, "--workspace", help="Without FILE: check only what runs of this workspace (slug or path) would use."),
    workspaces_root: Optional[Path] = WorkspacesRoot,
    config: Optional[Path] = typer.Option(None, "--config", help="Read the profiles of profile backends from this file alone."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
    cluster: bool = typer.Option(
        False, "--cluster", help="Also ask each instance's system whether it knows what the settings name "
                                 "(e.g. a Slurm partition); exit 1 when one cannot be reached."),
) -> None:
    """Validate operators.yaml as a run would (no run is touched) and list its instances.

    One row per instance: key, kind, backend type, max_concurrent and root (where its jobs
    run). Without FILE, each workspace's own operators.yaml (else $MATTERSTACK_OPERATORS_CONFIG,
    else the embedded default) is checked and named with its source; --json then prints a
    list. A problem is one line naming the file, the key path and the fix, with exit code 2.
    """
    import json

    from matterstack.plugins.host import get_plugin_host

    host = get_plugin_host()
    if file is not None:
        report = check_report(file, host, config)
        typer.echo(json.dumps(report, indent=2) if as_json else "\n".join(_render(report)))
        reports = [report]
    else:
        reports = workspace_reports(_workspaces(workspace, workspaces_root), host, config)
        if as_json:
            typer.echo(json.dumps(reports, indent=2))
        for report in [] if as_json else reports:
            origin = report["file"] or "no operators.yaml in the workspace and $MATTERSTACK_OPERATORS_CONFIG unset"
            whose = f"workspace {report['workspace']}" if report["workspace"] else "no workspace in the project"
            typer.echo(f"{whose}: {report['source']} ({origin})")
            typer.echo("\n".join("  " + line for line in _render(report)))
    if cluster:
        from matterstack.cli.operators_cluster import report_cluster_check

        report_cluster_check(list(dict.fromkeys(Path(r["file"]) if r["file"] else None for r in reports)))


def _workspaces(workspace: Optional[str], workspaces_root: Optional[Path]) -> list:
    """The workspaces to check: ``workspace`` alone, else every one of the project."""
    from matterstack.cli.runs import root
    from matterstack.project.layout import resolve_workspace

    ws_root = root(workspaces_root)
    if workspace is not None:
        return [resolve_workspace(workspace, ws_root)]
    return project_workspaces(ws_root)


def _render(report: dict[str, Any]) -> list[str]:
    """The report as a summary line and a table of instances."""
    cap = report["max_concurrent"] if report["max_concurrent"] is not None else "none"
    lines = [f"{report['file'] or 'embedded default'}: valid, {len(report['instances'])} instance(s); "
             f"default operator {report['default_operator']}; global max_concurrent {cap}"]
    table = [[title for title, _ in COLUMNS]] + [[_cell(row, field) for _, field in COLUMNS] for row in report["instances"]]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in table]
    return lines + list(report.get("notes") or [])


def register(app: typer.Typer) -> None:
    """Add the ``operators`` command group to the ``matterstack`` app."""
    app.add_typer(operators_app, name="operators")
