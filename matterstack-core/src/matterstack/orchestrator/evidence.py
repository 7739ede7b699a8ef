"""The evidence bundle: ``evidence/bundle.json``, ``evidence/report.md`` and
``evidence/report.html`` (see :mod:`.report_html`), rebuilt from the state database alone
(and, for the HTML report's iterations, the run's ``iterations.jsonl``; idempotent: the same
records give the same files), and
``evidence/operators_snapshot/``, a copy of the run's wiring snapshot. ``bundle.json`` also
carries the top-level keys MatterStack 0.2.x wrote (see :mod:`.evidence_legacy`)."""

from __future__ import annotations

from pathlib import Path

from matterstack.atomic_write import atomic_file, write_atomic
from matterstack.core.attempt_results import AttemptResults
from matterstack.json_text import write_json
from matterstack.core.operator_key import resolve_attempt_operator_key
from matterstack.orchestrator.evidence_legacy import legacy_bundle_keys
from matterstack.orchestrator.handle import RunHandle
from matterstack.wiring.snapshot import SNAPSHOT_DIR
from matterstack.wiring.summary import render_summary


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def build_bundle(handle: RunHandle, store, wiring: dict | None = None) -> dict:
    """Everything a reviewer needs to trust the run, as one JSON-able dict."""
    from matterstack.store.resources import attempt_resources, task_resource_changes

    run = store.get_run()
    changes_by_task: dict[str, list] = {}
    for change in task_resource_changes(store):
        changes_by_task.setdefault(change.task_id, []).append(change)
    tasks = []
    statuses = store.task_statuses()
    for task, (_, history) in zip(store.iter_tasks(), store.task_histories(), strict=True):
        attempts = []
        resources = attempt_resources(task, history, changes_by_task.get(task.task_id, []))
        for attempt in history:
            data = attempt.operator_data
            resolved = resolve_attempt_operator_key(attempt.operator_key, data, attempt.operator_type)
            attempts.append({
                "attempt_id": attempt.attempt_id,
                "attempt_index": attempt.attempt_index,
                "status": attempt.status.value,
                "operator_key": resolved.key,
                "operator_key_source": resolved.source,
                "external_id": attempt.external_id,
                "reason": attempt.status_reason,
                "created_at": _iso(attempt.created_at),
                "submitted_at": _iso(attempt.submitted_at),
                "ended_at": _iso(attempt.ended_at),
                "artifact_path": attempt.relative_path,
                "exit_code": data.get("exit_code"),
                "files": _files(handle.root_path, attempt.relative_path, data),
                **resources[attempt.attempt_id],
            })
        tasks.append({
            "task_id": task.task_id,
            "task_type": task.task_type,
            "status": statuses[task.task_id].value,
            "dependencies": sorted(task.dependencies),
            "allow_failure": task.allow_failure,
            "attempts": attempts,
            "resource_changes": [c.as_dict() | {"summary": c.describe()} for c in changes_by_task.get(task.task_id, [])],
        })
    return {
        "run": {
            "run_id": run.run_id,
            "workspace_slug": run.workspace_slug,
            "status": run.status.value,
            "status_reason": run.status_reason,
            "created_at": _iso(run.created_at),
        },
        "counts": {k.value if hasattr(k, "value") else k: v
                   for k, v in sorted(store.count_tasks_by_status().items(), key=lambda kv: str(kv[0]))},
        "tasks": tasks,
        "wiring": wiring,
        **legacy_bundle_keys(handle, store),
    }


def _files(run_dir: Path, attempt_path: str | None, data: dict) -> list[dict]:
    """Collected files with their path relative to the run and their sha256 (operators
    record a file relative to its attempt directory; 0.2.x recorded absolute paths)."""
    recorded = AttemptResults.recorded(data)
    base = run_dir / attempt_path if attempt_path else run_dir
    out = []
    for name, path in sorted(recorded.files.items()):
        try:
            relative = (base / path).resolve().relative_to(run_dir.resolve()).as_posix()
        except ValueError:
            relative = str(path)
        out.append({"name": name, "path": relative, "sha256": recorded.sha256.get(name)})
    return out


def render_report(bundle: dict) -> str:
    """A person's view of the bundle: run summary, then one table row per attempt."""
    run = bundle["run"]
    lines = [
        f"# Run {run['run_id']}",
        "",
        f"- workspace: `{run['workspace_slug']}`",
        f"- status: **{run['status']}**" + (f" ({run['status_reason']})" if run["status_reason"] else ""),
        f"- created: {run['created_at']}",
        "- tasks: " + ", ".join(f"{n} {s}" for s, n in bundle["counts"].items()),
        *_wiring_lines(bundle.get("wiring")),
        "",
        "| task | attempt | status | operator | external id | ended | reason |",
        "|---|---:|---|---|---|---|---|",
    ]
    for task in bundle["tasks"]:
        if not task["attempts"]:
            lines.append(f"| {task['task_id']} | – | {task['status']} | | | | |")
        for a in task["attempts"]:
            reason = (a["reason"] or "").replace("|", "\\|").replace("\n", " ")
            lines.append(
                f"| {task['task_id']} | {a['attempt_index']} | {a['status']} | {a['operator_key'] or ''} "
                f"| {a['external_id'] or ''} | {a['ended_at'] or ''} | {reason} |"
            )
    changed = [(task["task_id"], change) for task in bundle["tasks"] for change in task["resource_changes"]]
    if changed:
        lines += ["", "Resource changes (`matterstack rerun`):", ""]
        lines += [f"- {task_id}, {change['at']}: {change['summary']}" for task_id, change in changed]
    lines.append("")
    return "\n".join(lines)


def _wiring_lines(wiring: dict | None) -> list[str]:
    """The operator wiring the run used, as list items of the report."""
    if not wiring:
        return []
    first, *rest = render_summary(wiring)
    return [f"- {first}", *(f"  - {line.strip()}" for line in rest)]


def export_evidence(handle: RunHandle, store, wiring: dict | None = None, folder: Path | None = None) -> Path:
    """Write ``bundle.json``, ``report.md`` and ``report.html`` into ``folder`` (default: the run's
    ``evidence/``); return the report's path."""
    bundle = build_bundle(handle, store, wiring)
    folder = Path(folder) if folder is not None else handle.evidence_path
    # Keys keep the order they were built in: 0.2.x listed tasks in the order they were stored,
    # and scripts that walk data.tasks see them so.
    with atomic_file(folder / "bundle.json") as out:
        write_json(bundle, lambda text: out.write(text.encode()))
    report = folder / "report.md"
    write_atomic(report, render_report(bundle))
    write_atomic(folder / "report.html", _html_report(handle, store, bundle, folder))
    _copy_wiring_snapshot(handle.root_path, folder)
    return report


def _html_report(handle: RunHandle, store, bundle: dict, folder: Path) -> str:
    """``report.html``: the bundle, plus when each attempt was first seen running (from the
    transition log), the campaign's iterations and the run's notes."""
    from matterstack.orchestrator.iterations import read_iterations
    from matterstack.orchestrator.report_html import render_html_report

    running_at: dict[str, str] = {}
    for event in store.attempt_events():
        if event.to_status.value == "RUNNING":
            running_at.setdefault(event.attempt_id, event.at.isoformat())
    return render_html_report(bundle, running_at=running_at, iterations=read_iterations(handle.root_path),
                              notes=[note.describe() for note in store.run_notes()],
                              run_dir=handle.root_path, folder=folder.resolve())


def _copy_wiring_snapshot(run_dir: Path, folder: Path) -> None:
    """Copy ``<run>/operators_snapshot/`` into the evidence, as 0.2.7 did."""
    snapshot = run_dir / SNAPSHOT_DIR
    if not snapshot.is_dir():
        return
    for source in sorted(snapshot.iterdir()):
        if source.is_file():
            write_atomic(folder / SNAPSHOT_DIR / source.name, source.read_bytes())
