"""The wiring as people and reviewers see it: one row per instance (key, kind, backend type,
limit, root) for ``operators check``, and the run's wiring summary (source, sha256,
instances, snapshot history) for ``explain`` and the evidence bundle."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import attrs

from matterstack.errors import MatterStackError
from matterstack.plugins.backend_block import DEFAULT_BACKEND_TYPE
from matterstack.wiring.model import InstanceConfig, Wiring
from matterstack.wiring.precedence import ENV_VAR, WORKSPACE_DEFAULT, recorded_source, resolve_run_wiring
from matterstack.wiring.snapshot import ENV_VAR_NAME, OVERRIDE_FORCED, OVERRIDE_REFUSED, read_history

RUN_DIRECTORY = "run directory"
"""The root shown for an instance whose work happens in the attempt directories of the run."""

SOURCE_FLAGS = {"CLI_OVERRIDE": "--operators-config", "LEGACY_HPC_CONFIG": "--hpc-config",
                "LEGACY_PROFILE": "--profile", WORKSPACE_DEFAULT: "the workspace's operators.yaml",
                ENV_VAR: f"${ENV_VAR_NAME}"}
"""How each recorded source was given (a flag, a file, the environment)."""


def instance_row(instance: InstanceConfig, host) -> dict:
    """``key``, ``kind``, ``backend`` (type, or None for a kind without one),
    ``max_concurrent`` and ``root`` (where the instance's jobs run, when the wiring says)."""
    settings = instance.settings
    limit = instance.max_concurrent
    # a kind whose backend is fixed (local: 0.2.x's {type: local} block) has no backend to show
    fixed = len(getattr(type(settings), "backend_types", ())) == 1
    given = getattr(settings, "backend", None)
    block = given if isinstance(given, Mapping) else {"type": DEFAULT_BACKEND_TYPE}
    dry_run = {"dry_run": True} if getattr(getattr(given, "settings", None), "dry_run", False) else {}
    if fixed or not (attrs.has(type(settings)) and "backend" in attrs.fields_dict(type(settings))):
        return {"key": instance.key, "kind": instance.kind, "backend": None, "max_concurrent": limit,
                "root": RUN_DIRECTORY, **dry_run}
    return {"key": instance.key, "kind": instance.kind, "backend": block.get("type"), "max_concurrent": limit,
            "root": backend_root(block.get("type"), block, host), **dry_run}


def backend_root(backend_type: str, options: Mapping, host) -> str | None:
    """The backend's ``workspace_root``; the run directory when its type leaves that
    optional and the block leaves it out; None when the type has no such setting."""
    if options.get("workspace_root") is not None:
        return str(options["workspace_root"])
    registration = host.compute_backends.get(backend_type)
    fields = attrs.fields_dict(registration.settings) if registration is not None else {}
    field = fields.get("workspace_root")
    return RUN_DIRECTORY if field is not None and field.default is None else None


def wiring_summary(handle, wiring: Wiring | None = None, *, host=None) -> dict:
    """What the evidence bundle and ``explain`` say about a run's wiring.

    ``wiring`` defaults to what the run uses (read without pinning anything, see
    :func:`~matterstack.wiring.precedence.resolve_run_wiring`); when that fails (a plugin was
    uninstalled) the summary still holds the snapshot's provenance and history, with the
    problem under ``error``. ``source`` is the name the run's ``metadata.json`` records
    (``CLI_OVERRIDE``, ``WORKSPACE_DEFAULT``, ``ENV_VAR``, ...), or, for a run not pinned yet
    (``pinned`` false), the source its next tick would pin.
    """
    if host is None:
        from matterstack.plugins.host import get_plugin_host

        host = get_plugin_host()
    run_dir = Path(handle.root_path)
    error = None
    if wiring is None:
        try:
            wiring = resolve_run_wiring(handle, host=host, pin=False).wiring
        except MatterStackError as exc:
            error = exc.one_line()
    history = read_history(run_dir)
    recorded = recorded_source(handle)
    summary = {
        "source": recorded["source"],
        "source_file": recorded["source_file"] or (None if wiring is None else wiring.source_file),
        "sha256": recorded["sha256"] or (None if wiring is None else wiring.sha256),
        "snapshot": recorded["snapshot"],
        "pinned": recorded["pinned"],
        "default_operator": None if wiring is None else wiring.default_operator,
        "max_concurrent": None if wiring is None else wiring.max_concurrent,
        "instances": None if wiring is None else {
            row.pop("key"): row for row in (instance_row(i, host) for i in wiring.instances.values())
        },
        "history": history,
        "overrides": sum(1 for event in history if event.get("event") == OVERRIDE_FORCED),
        "refusals": sum(1 for event in history if event.get("event") == OVERRIDE_REFUSED),
    }
    if error is not None:
        summary["error"] = error
    return summary


def render_summary(summary: dict) -> list[str]:
    """The wiring summary as lines of text (``explain``, ``report.md``)."""
    source = summary.get("source")
    origin = source
    if source in SOURCE_FLAGS:
        origin = f"{source}: {SOURCE_FLAGS[source]}"
        if summary.get("source_file") and summary["source_file"] != source:
            origin = f"{origin} {summary['source_file']}"
    digest = f" (sha256 {summary['sha256'][:12]})" if summary.get("sha256") else ""
    where = f", snapshot {summary['snapshot']}" if summary.get("snapshot") else ""
    if summary.get("snapshot") is None and source in SOURCE_FLAGS:
        where = ", not pinned yet (the next tick copies it into operators_snapshot/)"
    count = len(summary["instances"]) if summary.get("instances") is not None else 0
    lines = [f"wiring: {origin}{digest}{where}; {count} instance(s)"]
    for key, row in sorted((summary.get("instances") or {}).items()):
        backend = f" backend {row['backend']}" if row["backend"] else ""
        limit = f" max_concurrent {row['max_concurrent']}" if row["max_concurrent"] is not None else ""
        root = f" root {row['root']}" if row["root"] else ""
        dry = ", dry run (records each command, runs nothing)" if row.get("dry_run") else ""
        lines.append(f"  {key}: kind {row['kind']}{backend}{limit}{root}{dry}")
    for event in summary.get("history") or []:
        if event.get("event") == OVERRIDE_FORCED:
            prior = str((event.get("details") or {}).get("prior_sha256") or "?")[:12]
            lines.append(f"  wiring overridden at {event.get('at_utc')} with --force-wiring-override: "
                         f"sha256 {prior} -> {str(event.get('sha256'))[:12]} from {event.get('resolved_path')}")
        elif event.get("event") == OVERRIDE_REFUSED:
            attempted = str((event.get("details") or {}).get("attempted_sha256") or "?")[:12]
            lines.append(f"  wiring override refused at {event.get('at_utc')}: {event.get('resolved_path')} "
                         f"(sha256 {attempted}) differs from the snapshot")
    if summary.get("error"):
        lines.append(f"  wiring problem: {summary['error']}")
    return lines
