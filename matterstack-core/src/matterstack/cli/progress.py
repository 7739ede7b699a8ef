"""The live progress line of ``loop`` and ``run``: counts by status, and what is waiting on
which operator instance."""

from __future__ import annotations

import sys
import time
from collections import Counter

from matterstack.core.operator_key import resolve_attempt_operator_key
from matterstack.orchestrator.observe import attempt_key

_ORDER = ("COMPLETED", "FAILED", "SKIPPED", "CANCELLED", "RUNNING", "WAITING_EXTERNAL", "PENDING")
_DONE = {"COMPLETED", "FAILED", "SKIPPED", "CANCELLED"}


def snapshot(store) -> tuple[dict[str, int], dict[str, int], int]:
    """Task counts by status, active attempts by operator key, and how many of the FAILED
    tasks allow failure (the run goes on without them)."""
    counts = {str(getattr(k, "value", k)): v for k, v in store.count_tasks_by_status().items()}
    allowed = counts["FAILED"] - len(store.failed_task_ids(blocking_only=True)) if counts.get("FAILED") else 0
    waiting: Counter[str] = Counter()
    for column, count in store.active_attempt_counts().items():
        key = resolve_attempt_operator_key(column, None, None).key
        if key is None:  # the key is elsewhere (0.2.x attempts): ask each attempt
            waiting = Counter(attempt_key(a) or "?" for a in store.active_attempts())
            break
        waiting[key] += count
    return counts, dict(waiting), allowed


def render_line(run_id: str, counts: dict[str, int], waiting: dict[str, int], started: float,
                width: int = 20, allowed_failures: int = 0) -> str:
    total = sum(counts.values())
    done = sum(n for status, n in counts.items() if status in _DONE)
    filled = int(width * done / total) if total else width
    bar = "■" * filled + "□" * (width - filled)
    parts = [f"{s} {counts[s]}" + (f" ({allowed_failures} allowed)" if s == "FAILED" and allowed_failures else "")
             for s in _ORDER if counts.get(s)]
    elapsed = int(time.monotonic() - started)
    line = (f"{run_id} [{bar}] {done}/{total} tasks  " + "  ".join(parts)
            + f"  {elapsed // 3600}:{elapsed % 3600 // 60:02d}:{elapsed % 60:02d}")
    if waiting:
        line += "  | waiting on " + ", ".join(f"{k}: {n}" for k, n in sorted(waiting.items()))
    return line


class ProgressPrinter:
    """Redraws one line on a terminal; elsewhere (or with ``redraw=False``, for several runs)
    prints a run's line only when it changes."""

    def __init__(self, stream=None, redraw: bool | None = None):
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self._last: dict[str, tuple] = {}
        self._tty = self.stream.isatty() if redraw is None else redraw

    def show(self, run_id: str, store) -> None:
        counts, waiting, allowed = snapshot(store)
        line = render_line(run_id, counts, waiting, self.started, allowed_failures=allowed)
        key = (tuple(sorted(counts.items())), tuple(sorted(waiting.items())), allowed)
        if self._tty:
            self.stream.write("\r\x1b[2K" + line)
            self.stream.flush()
        elif key != self._last.get(run_id):
            self.stream.write(line + "\n")
            self.stream.flush()
        self._last[run_id] = key

    def note(self, text: str) -> None:
        if self._tty:
            self.stream.write("\r\x1b[2K")
        self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()
