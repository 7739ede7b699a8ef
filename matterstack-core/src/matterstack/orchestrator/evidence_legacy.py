"""The top-level keys MatterStack 0.2.x wrote in ``evidence/bundle.json`` (``run_id``,
``workspace_slug``, ``generated_at``, ``run_status``, ``status_reason``, ``is_complete``,
``task_counts``, ``data``, ``artifacts``, ``report_content``, ``tags``), rebuilt from this
project's database with the meanings 0.2.6 gave them, so scripts that read them keep working.

Where 0.2.x's meaning is odd it is kept on purpose: ``task_counts`` counts only tasks that have
an attempt, by the status of their current attempt (a task finished without one is in
``total`` alone); ``data.tasks.<id>.status`` is the current attempt's status (``FAILED_INIT``
included); ``report_content`` is empty (0.2.x filled it only after writing the file).
``generated_at`` is the newest moment the database records, not the clock, so exporting twice
gives the same bytes.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from matterstack.orchestrator.handle import RunHandle
from matterstack.wiring.snapshot import read_metadata

COUNTED = {"COMPLETED": "completed", "FAILED": "failed", "CANCELLED": "cancelled"}
"""The current-attempt statuses 0.2.x counted in ``task_counts``, by the name it counted them under."""


def legacy_bundle_keys(handle: RunHandle, store) -> dict:
    """The 0.2.x keys of ``bundle.json``, as one dict to merge into the bundle."""
    run = store.get_run()
    tasks: dict[str, dict] = {}
    artifacts: dict[str, str] = {}
    counts = {"total": 0, "completed": 0, "failed": 0, "cancelled": 0}
    moments = [run.created_at, *(event.at for event in store.run_events())]
    # 0.2.x listed tasks as they were stored: three passes over the tasks in that order
    for (task_id, status, current), (_, image, command), (_, history) in zip(
            store.tasks_with_current_attempts(), store.task_commands(), store.task_histories(), strict=True):
        counts["total"] += 1
        moments += [m for a in history for m in (a.created_at, a.submitted_at, a.ended_at) if m is not None]
        entry = {"image": image, "command": command, "status": status.value,
                 "attempts": [_attempt(handle.root_path, run.root_path, a) for a in history], "current_attempt": None,
                 "legacy_external_run": None}
        if history:
            current = current or history[-1]
            entry.update(current_attempt=_attempt(handle.root_path, run.root_path, current), status=current.status.value,
                         operator_type=current.operator_type, operator_key=current.operator_key,
                         external_id=current.external_id, results=current.operator_data)
            if current.status.value in COUNTED:
                counts[COUNTED[current.status.value]] += 1
            if current.relative_path:
                if (handle.root_path / current.relative_path).exists():
                    artifacts[task_id] = str(Path(run.root_path) / current.relative_path)
                else:
                    entry["artifact_missing"] = True
        tasks[task_id] = entry
    data = {"tasks": tasks}
    wiring = _operator_wiring(handle.root_path)
    if wiring is not None:
        data["operator_wiring"] = wiring
    return {
        "run_id": run.run_id,
        "workspace_slug": run.workspace_slug,
        "generated_at": _zulu(max(_aware(m) for m in moments)),
        "run_status": run.status.value,
        "status_reason": run.status_reason,
        "is_complete": run.status.value == "COMPLETED",
        "task_counts": counts,
        "data": data,
        "artifacts": artifacts,
        "report_content": "",
        "tags": sorted(run.tags) if isinstance(run.tags, dict) else list(run.tags or []),
    }


def _attempt(run_dir: Path, stored_root: str, attempt) -> dict:
    """One attempt as 0.2.x exported it: ``artifact_path`` is the run's ``root_path`` as the
    database stores it (relative to the project for 0.2.x runs) joined with the attempt's folder."""
    relative = attempt.relative_path
    folder = run_dir / relative if relative else None
    return {
        "attempt_id": attempt.attempt_id,
        "attempt_index": attempt.attempt_index,
        "status": attempt.status.value,
        "status_reason": attempt.status_reason,
        "operator_type": attempt.operator_type,
        "operator_key": attempt.operator_key,
        "external_id": attempt.external_id,
        "operator_data": attempt.operator_data,
        "relative_path": attempt.relative_path,
        "artifact_path": str(Path(stored_root) / relative) if relative else None,
        "artifact_missing": bool(folder and not folder.exists()),
        "created_at": _naive(attempt.created_at),
        "submitted_at": _naive(attempt.submitted_at),
        "ended_at": _naive(attempt.ended_at),
    }


def _operator_wiring(run_dir: Path) -> dict | None:
    """``data.operator_wiring``: the snapshot's provenance, as 0.2.7 exported it (None without one)."""
    metadata = read_metadata(run_dir)
    effective = (metadata or {}).get("effective") or {}
    if not effective.get("source"):
        return None
    return {"source": effective["source"], "sha256": effective.get("sha256"),
            "snapshot_relpath": effective.get("snapshot_relpath"), "resolved_path": effective.get("resolved_path"),
            "created_at_utc": metadata.get("created_at_utc")}


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _naive(moment: datetime | None) -> str | None:
    """UTC without an offset, the way 0.2.x wrote attempt times (``2026-12-07T02:14:34.258441``)."""
    return None if moment is None else _aware(moment).replace(tzinfo=None).isoformat()


def _zulu(moment: datetime) -> str:
    """UTC with a ``Z``, the way 0.2.x wrote ``generated_at``."""
    return _aware(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
