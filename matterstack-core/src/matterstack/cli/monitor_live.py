"""``monitor`` on a terminal: a view of one run or every run, redrawn in place with rich.

Per run: its status, a progress bar over its tasks, one bar per operator instance (the
tasks whose current attempt is there: done, failed, running, waiting), what each unfinished
task waits for (``explain``'s sentence) and the last notes. Ctrl-C stops it and leaves the
last view on the screen, the cursor shown. Off a terminal ``monitor`` prints lines instead
(``matterstack.cli.read_only_commands``); rich is imported only here.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import Callable, Iterable

import attrs

WAITING_SHOWN = 8
"""Unfinished tasks listed per run; the rest are counted."""
NOTES_SHOWN = 3
WAITING = ("CREATED", "SUBMITTED", "WAITING_EXTERNAL")
"""Attempt statuses counted as waiting on their instance (a local job runs as WAITING_EXTERNAL)."""
FAILED = ("FAILED", "FAILED_INIT", "CANCELLED")


@attrs.frozen
class RunView:
    """What the monitor shows of one run at one moment; ``problem`` replaces the rest for a
    run that cannot be read."""

    run_id: str
    status: str = ""
    status_reason: str | None = None
    workspace: str = ""
    counts: dict = attrs.field(factory=dict)
    allowed_failures: int = 0
    instances: dict = attrs.field(factory=dict)
    waiting: tuple = ()
    more: int = 0
    notes: tuple = ()
    problem: str | None = None


def read_run(handle, store, explain_run: Callable) -> RunView:
    """The view of one run from its open store; ``explain_run(handle, store)`` gives the
    ``Explanation`` (or raises a ``MatterStackError``, shown in place of the waiting list)."""
    from matterstack.cli.progress import snapshot
    from matterstack.errors import MatterStackError

    run = store.get_run()
    counts, _, allowed = snapshot(store)
    instances = _instance_counts(store)
    try:
        explanation = explain_run(handle, store)
        waiting = tuple((w.task_id, w.status, w.waits_for) for w in explanation.frontier)
        more, notes = sum(explanation.more.values()), explanation.notes
    except MatterStackError as exc:
        waiting, more, notes = (), 0, (f"cannot say what tasks wait for: {exc.one_line()}",)
    return RunView(run.run_id, run.status.value, run.status_reason, handle.workspace_slug, counts, allowed,
                   dict(sorted(instances.items())), waiting, more, tuple(notes))


def _instance_counts(store) -> dict[str, Counter]:
    """The tasks' current attempts by instance key and status, counted in the database; only
    attempts whose key column says nothing (0.2.x's) are read one by one."""
    from matterstack.core.operator_key import resolve_attempt_operator_key
    from matterstack.orchestrator.observe import attempt_key

    instances: dict[str, Counter] = {}
    unresolved = False
    for column, status, count in store.current_attempt_counts():
        key = resolve_attempt_operator_key(column, None, None).key
        if key is None:
            unresolved = True
        else:
            instances.setdefault(key, Counter())[status] += count
    if unresolved:
        for _, _, current in store.tasks_with_current_attempts():
            if current is not None and resolve_attempt_operator_key(current.operator_key, None, None).key is None:
                instances.setdefault(attempt_key(current) or "?", Counter())[current.status.value] += 1
    return instances


class Explainer:
    """``explain`` for each run, with one operator registry per run kept between refreshes
    (building one loads the plugins and the wiring)."""

    def __init__(self):
        self._registries: dict = {}

    def __call__(self, handle, store):
        from matterstack.orchestrator import explain
        from matterstack.orchestrator.api import build_registry
        from matterstack.wiring.precedence import resolve_run_wiring

        registry = self._registries.get(handle.root_path)
        if registry is None:
            registry = build_registry(handle, resolve_run_wiring(handle, pin=False).wiring)
            self._registries[handle.root_path] = registry
        return explain.explain(handle, store, registry, shown=WAITING_SHOWN)

    def close(self) -> None:
        for registry in self._registries.values():
            registry.close()
        self._registries.clear()


def _bar(done: int, total: int, failed: int = 0):
    from rich.progress_bar import ProgressBar

    return ProgressBar(total=max(total, 1), completed=done, width=30,
                       complete_style="red" if failed else "green", finished_style="red" if failed else "green")


def _status_style(status: str) -> str:
    return {"COMPLETED": "bold green", "FAILED": "bold red", "CANCELLED": "bold yellow",
            "UNREADABLE": "bold red"}.get(status, "bold blue")


def render_run(view: RunView):
    """One run as a rich panel."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    title = Text.assemble((view.run_id, "bold"), "  ", (view.status, _status_style(view.status)),
                          f"  {view.workspace}" if view.workspace else "")
    if view.problem is not None:
        return Panel(Text(view.problem, style="red"), title=title, title_align="left")
    parts = []
    if view.status_reason:
        parts.append(Text(view.status_reason, style="dim"))
    counts = view.counts
    total = sum(counts.values())
    done = sum(counts.get(s, 0) for s in ("COMPLETED", "FAILED", "SKIPPED", "CANCELLED"))
    blocking = counts.get("FAILED", 0) - view.allowed_failures + counts.get("CANCELLED", 0)
    parts.append(Text(f"{done}/{total} tasks ended: " + "  ".join(
        f"{status} {n}" + (f" ({view.allowed_failures} allowed)" if status == "FAILED" and view.allowed_failures else "")
        for status, n in sorted(counts.items()) if n)))
    table = Table(box=None, padding=(0, 1), show_edge=False)
    for column in ("", "progress", "done", "failed", "running", "waiting"):
        table.add_column(column, justify="left" if column in ("", "progress") else "right")
    table.add_row(Text("all tasks", style="bold"), _bar(done, total, blocking),
                  str(counts.get("COMPLETED", 0) + counts.get("SKIPPED", 0)),
                  str(counts.get("FAILED", 0) + counts.get("CANCELLED", 0)), str(counts.get("RUNNING", 0)),
                  str(counts.get("PENDING", 0) + counts.get("WAITING_EXTERNAL", 0)))
    for key, statuses in view.instances.items():
        ended_ok = statuses.get("COMPLETED", 0)
        failed = sum(statuses.get(s, 0) for s in FAILED)
        table.add_row(key, _bar(ended_ok + failed, sum(statuses.values()), failed), str(ended_ok), str(failed),
                      str(statuses.get("RUNNING", 0)), str(sum(statuses.get(s, 0) for s in WAITING)))
    parts.append(table)
    if view.waiting:
        parts.append(Text("waiting", style="bold"))
        for task_id, status, why in view.waiting[:WAITING_SHOWN]:
            parts.append(Text.assemble("  ", (task_id, "cyan"), f" [{status}] waits for {why}"))
        hidden = len(view.waiting[WAITING_SHOWN:]) + view.more
        if hidden:
            parts.append(Text(f"  … and {hidden} more (matterstack explain {view.run_id})", style="dim"))
    if view.notes:
        parts.append(Text("notes", style="bold"))
        parts.extend(Text(f"  {note}", style="yellow") for note in view.notes[-NOTES_SHOWN:])
    return Panel(Group(*parts), title=title, title_align="left")


def render(views: Iterable[RunView], interval: float | None = None):
    """Every run's panel; with ``interval`` (a live view), a last line saying when it was
    drawn and how to leave."""
    from rich.console import Group
    from rich.text import Text

    panels = [render_run(view) for view in views] or [Text("No runs found.")]
    if interval is None:
        return Group(*panels)
    footer = Text(f"{datetime.now():%H:%M:%S}, every {interval:g} s; Ctrl-C to leave", style="dim")
    return Group(*panels, footer)


def watch(read_views: Callable[[], list[RunView]], interval: float, once: bool) -> None:
    """Draw ``read_views()`` and redraw it in place every ``interval`` seconds until Ctrl-C
    (once with ``once``). Ctrl-C ends it quietly, the last view left on the screen."""
    from rich.console import Console
    from rich.live import Live

    console = Console()
    if once:
        console.print(render(read_views()))
        return
    try:
        with Live(render(read_views(), interval), console=console, auto_refresh=False,
                  redirect_stdout=False, redirect_stderr=False) as live:
            while True:
                time.sleep(interval)
                live.update(render(read_views(), interval), refresh=True)
    except KeyboardInterrupt:
        pass
