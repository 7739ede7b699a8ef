"""``matterstack plugins``: what is installed, what each plugin provides, and what failed."""

from __future__ import annotations

from typing import Any, Optional

import typer

from matterstack.cli.errors import DEBUG_KEY


def plugin_report(host: Any) -> dict[str, Any]:
    """The report ``plugins --json`` prints (shape documented on :func:`plugins`)."""
    from matterstack.plugins.host import CORE_DISTRIBUTION

    provided: dict[str, dict[str, list[str]]] = {}
    for category, registry in (("operator_kinds", host.operator_kinds), ("compute_backends", host.compute_backends)):
        for registration in registry.registrations:
            provided.setdefault(registration.plugin, {}).setdefault(category, []).append(registration.name)
    plugins = []
    for name, _ in host.pm.list_name_plugin():
        source = host.source(name)
        plugins.append(
            {
                "name": name,
                "distribution": source.distribution,
                "version": source.version,
                "entry_point": source.entry_point,
                "operator_kinds": sorted(provided.get(name, {}).get("operator_kinds", [])),
                "compute_backends": sorted(provided.get(name, {}).get("compute_backends", [])),
                "commands": host.commands.get(name, []),
            }
        )
    plugins.sort(key=lambda p: (p["distribution"] != CORE_DISTRIBUTION, p["distribution"], p["name"]))
    problems = [
        {
            "kind": problem.kind,
            "message": problem.error().one_line(),
            "distributions": [
                {"distribution": s.distribution, "version": s.version, "entry_point": s.entry_point} for s in problem.sources
            ],
            "traceback": problem.traceback,
        }
        for problem in host.problems
    ]
    return {"plugins": plugins, "problems": problems}


def _provides(plugin: dict[str, Any]) -> str:
    parts = [
        f"{label}: {', '.join(plugin[key])}"
        for label, key in (("kinds", "operator_kinds"), ("backends", "compute_backends"), ("commands", "commands"))
        if plugin[key]
    ]
    return "; ".join(parts) or "-"


def _print_table(report: dict[str, Any], *, debug: bool) -> None:
    header = ("DISTRIBUTION", "VERSION", "ENTRY POINT", "PROVIDES")
    rows = [
        (p["distribution"], p["version"] or "?", p["entry_point"] or f"(built-in) {p['name']}", _provides(p))
        for p in report["plugins"]
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
    if report["problems"]:
        typer.echo(f"\n{len(report['problems'])} problem(s):")
        for problem in report["problems"]:
            typer.echo(f"  {problem['kind']}: {problem['message']}")
            if debug and problem["traceback"]:
                typer.echo("    " + problem["traceback"].rstrip().replace("\n", "\n    "))


def settings_tables(host: Any, name: str | None) -> str:
    """What ``plugins --settings [NAME]`` prints: the settings table of every installed kind
    and backend, or of those called ``name``; a name nothing installed has is a ConfigError."""
    from matterstack.errors import ConfigError
    from matterstack.plugins.settings_docs import settings_sections

    text = settings_sections(host, name)
    if not text:
        kinds, backends = ", ".join(sorted(host.operator_kinds)), ", ".join(sorted(host.compute_backends))
        raise ConfigError(f"no installed operator kind or compute backend is called {name!r}", where="plugins --settings",
                          fix=f"name one of the kinds ({kinds}) or backends ({backends}), or install its plugin")
    return text


def plugins(
    ctx: typer.Context,
    name: Optional[str] = typer.Argument(
        None, metavar="[KIND]", help="With --settings: only the operator kind or compute backend of this name."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    settings: bool = typer.Option(
        False, "--settings", help="Print the settings table (Markdown) of every installed kind and backend instead."),
) -> None:
    """List installed plugins, what each provides, and every plugin problem.

    With --settings, print instead the settings table of every installed operator kind and
    compute backend, third-party ones included, or only of KIND: each key with its type,
    default and meaning, in Markdown, as docs/operators.md shows them (a plugin's README can
    include its table).

    One row per plugin: distribution, version, entry point, and the operator kinds, compute
    backends and commands it provides. Then every problem: a plugin that failed to load or to
    register, a name claimed by two distributions. With --debug, each problem's traceback.

    The JSON object has two keys. "plugins": a list of objects with "name" (the plugin's
    name in the plugin manager), "distribution", "version", "entry_point" ("name = module",
    null for core's built-ins), and lists of names "operator_kinds", "compute_backends" and
    "commands". "problems": a list of objects with "kind" (load, registration, collision or
    not-found), "message" (one line), "distributions" (objects with "distribution",
    "version", "entry_point") and "traceback" (text or null).
    """
    import json

    from matterstack.errors import ConfigError
    from matterstack.plugins.host import get_plugin_host

    if settings:
        typer.echo(settings_tables(get_plugin_host(), name), nl=False)
        return
    if name is not None:
        raise ConfigError(f"{name!r} is only read with --settings", where="plugins",
                          fix=f"write matterstack plugins --settings {name}")
    report = plugin_report(get_plugin_host())
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print_table(report, debug=bool(ctx.meta.get(DEBUG_KEY)))


def register(app: typer.Typer) -> None:
    """Add ``plugins`` to the ``matterstack`` app."""
    app.command("plugins")(plugins)
