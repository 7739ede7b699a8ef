"""``evidence/report.html``: the evidence bundle as one page a person opens in a browser.

The page is self-contained (styles inline, no network) and rendered by Jinja2 from
``templates/report.html.j2``; this module only arranges the bundle for it: the run's
summary, a timeline of every attempt per operator instance (queued, running, ended, reruns
on their task's row, failures with their reason), the campaign's iterations and each task's
attempts with their files linked. Like ``report.md`` it is built from what was recorded
alone, so the same run gives the same page.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from matterstack.core.times import datetime_from_text
from matterstack.orchestrator.iterations import Iteration
from matterstack.wiring.summary import render_summary

TEMPLATE = "report.html.j2"
ENDED_BADLY = {"FAILED": "failed", "FAILED_INIT": "failed", "CANCELLED": "cancelled"}
"""Attempt statuses drawn as a failure on the timeline, with the class that colours them."""
NO_OPERATOR = "(no operator instance)"
DRAWN_TASKS = 2000
"""Tasks the page draws one by one (timeline rows, sections, links from the iterations), in
the order they were stored; past that it says how many it left out (``bundle.json`` holds
every one): a run of a million tasks would make a page no browser opens."""


def _moment(value: str | None) -> datetime | None:
    return datetime_from_text(value) if value else None


def _when(value: str | None) -> str:
    """A recorded moment as a person reads it: to the second, with its zone."""
    moment = _moment(value)
    if moment is None:
        return ""
    zone = "UTC" if moment.utcoffset() is not None and not moment.utcoffset() else moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M:%S} {zone}".strip()


def _percent(moment: datetime, start: datetime, span: float) -> float:
    return round(100 * (moment - start).total_seconds() / span, 3) if span else 0.0


def _bar(attempt: dict, running_at: datetime | None, start: datetime, end: datetime, span: float) -> dict:
    """Where an attempt's queued and running stretches sit on the timeline, in percent.

    Queued lasts until the attempt was first seen running; one that ended between two polls
    was never seen so, and is drawn queued until it was submitted."""
    created = _moment(attempt["created_at"]) or _moment(attempt["submitted_at"]) or start
    ended = _moment(attempt["ended_at"])
    stop = ended or end
    queued_until = min(running_at or _moment(attempt["submitted_at"]) or created, stop)
    status = attempt["status"]
    return {
        "index": attempt["attempt_index"],
        "status": status,
        "outcome": ENDED_BADLY.get(status, "completed" if status == "COMPLETED" else "active"),
        "reason": attempt["reason"],
        "left": _percent(created, start, span),
        "queued": max(_percent(queued_until, start, span) - _percent(created, start, span), 0.0),
        "running": max(_percent(stop, start, span) - _percent(queued_until, start, span), 0.0),
        "ended": ended is not None,
        "title": " · ".join(part for part in (
            f"attempt #{attempt['attempt_index']} {status}", f"created {attempt['created_at']}",
            f"running {running_at.isoformat()}" if running_at else None,
            f"ended {attempt['ended_at']}" if ended else "not ended", attempt["reason"]) if part),
    }


def timeline(bundle: dict, running_at: dict[str, str], drawn: int | None = None) -> dict:
    """Every attempt on one time axis, grouped by operator instance, one row per task (of the
    first ``drawn`` tasks; the axis spans them all); ``running_at`` maps an attempt id to when
    it was first seen running."""
    attempts = [a for task in bundle["tasks"] for a in task["attempts"]]
    moments = [m for a in attempts for m in (_moment(a["created_at"]), _moment(a["submitted_at"]),
                                             _moment(a["ended_at"]), _moment(running_at.get(a["attempt_id"])))
               if m is not None]
    start = _moment(bundle["run"]["created_at"]) or (min(moments) if moments else None)
    if start is None:
        return {"start": None, "end": None, "instances": []}
    end = max([start, *moments])
    span = (end - start).total_seconds()
    instances: dict[str, dict[str, list]] = {}
    for task in bundle["tasks"][:drawn]:
        for attempt in task["attempts"]:
            key = attempt["operator_key"] or NO_OPERATOR
            bar = _bar(attempt, _moment(running_at.get(attempt["attempt_id"])), start, end, span)
            instances.setdefault(key, {}).setdefault(task["task_id"], []).append(bar)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "instances": [{"key": key, "rows": [{"task_id": task_id, "bars": bars} for task_id, bars in rows.items()]}
                      for key, rows in sorted(instances.items())],
    }


def iteration_rows(bundle: dict, iterations: list[Iteration], drawn: int | None = None) -> list[dict]:
    """The tasks each iteration planned (those among the first ``drawn``, and how many others),
    with the statuses of all of them, in the order they were stored."""
    tasks = bundle["tasks"]
    bounds = [i.first_task for i in iterations[1:]] + [len(tasks)]
    rows = []
    for iteration, stop in zip(iterations, bounds):
        planned = tasks[iteration.first_task:stop]
        counts: dict[str, int] = {}
        for task in planned:
            counts[task["status"]] = counts.get(task["status"], 0) + 1
        linked = planned[:max(0, (len(tasks) if drawn is None else drawn) - iteration.first_task)]
        rows.append({"number": iteration.number,
                     "planned_at": iteration.planned_at or bundle["run"]["created_at"],
                     "tasks": [task["task_id"] for task in linked],
                     "more": len(planned) - len(linked),
                     "counts": sorted(counts.items())})
    return rows


def _link(run_dir: Path, folder: Path, relative: str | None) -> str | None:
    """A link from the report's folder to a path relative to the run (the report may be
    written elsewhere with ``--output``)."""
    if not relative:
        return None
    return Path(os.path.relpath(run_dir / relative, folder)).as_posix()


def task_sections(bundle: dict, run_dir: Path, folder: Path, drawn: int | None = None) -> list[dict]:
    """Each task (of the first ``drawn``) with its attempts, each attempt's folder and
    collected files as links."""
    return [{
        "task_id": task["task_id"],
        "status": task["status"],
        "allow_failure": task["allow_failure"],
        "dependencies": task["dependencies"],
        "attempts": [{
            **attempt,
            "outcome": ENDED_BADLY.get(attempt["status"], attempt["status"].lower()),
            "folder": _link(run_dir, folder, attempt["artifact_path"]),
            "links": [{"name": f["name"], "href": _link(run_dir, folder, f["path"]), "sha256": f["sha256"]}
                      for f in attempt["files"]],
        } for attempt in task["attempts"]],
        "resource_changes": [change["summary"] for change in task["resource_changes"]],
    } for task in bundle["tasks"][:drawn]]


def render_html_report(bundle: dict, *, running_at: dict[str, str], iterations: list[Iteration],
                       notes: list[str], run_dir: Path, folder: Path) -> str:
    """The page, as text. Jinja2 is imported here: only commands that write evidence load it."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["when"] = _when
    wiring = render_summary(bundle["wiring"]) if bundle.get("wiring") else []
    return environment.get_template(TEMPLATE).render(
        run=bundle["run"],
        counts=bundle["counts"],
        wiring=[line.strip() for line in wiring],
        notes=notes,
        timeline=timeline(bundle, running_at, DRAWN_TASKS),
        iterations=iteration_rows(bundle, iterations, DRAWN_TASKS),
        tasks=task_sections(bundle, run_dir, folder, DRAWN_TASKS),
        left_out=max(0, len(bundle["tasks"]) - DRAWN_TASKS),
        total=len(bundle["tasks"]),
    )
