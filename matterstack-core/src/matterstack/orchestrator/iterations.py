"""Where each iteration of a campaign begins, kept in ``<run>/iterations.jsonl`` for the
HTML report.

The database stores tasks in the order they were added but not which ``plan`` call added
them, and that cannot be told afterwards from the attempts' times (a task waiting on a
sibling starts as late as one planned next). So when a tick keeps an iteration's tasks it
appends one line: how many tasks the run had before them, and when. The first iteration
(``init``'s ``plan(None)``) starts at task 0 and has no line; a run made before this file
existed reads as one iteration.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import attrs

from matterstack.core.times import utc_now

ITERATIONS_FILE = "iterations.jsonl"


@attrs.frozen
class Iteration:
    """Iteration ``number`` (from 1): the tasks from ``first_task`` (their index in the order
    the run stored them) up to the next iteration's first, planned at ``planned_at``
    (``None`` for the first: the run's creation)."""

    number: int
    first_task: int
    planned_at: str | None


def record_iteration(run_dir: Path, tasks_before: int, at: datetime | None = None) -> None:
    """Note that the tasks from index ``tasks_before`` on were planned together, ``at``.

    Written after the database kept them; a crash before this line, or a disk that refuses
    it (full, read-only), leaves that iteration merged into the one before, which only the
    report reads: it never stops the tick."""
    moment = (at or utc_now()).isoformat()
    line = json.dumps({"first_task": tasks_before, "planned_at": moment}) + "\n"
    try:
        with open(Path(run_dir) / ITERATIONS_FILE, "a+b") as stream:
            # A line a crash cut short is closed first, so it does not swallow this one.
            if stream.seek(0, os.SEEK_END):
                stream.seek(-1, os.SEEK_END)
                if stream.read(1) != b"\n":
                    line = "\n" + line
            stream.write(line.encode())
    except OSError:
        return


def read_iterations(run_dir: Path) -> list[Iteration]:
    """The run's iterations, oldest first; a line recorded twice (a crash between writing it
    and settling the state) counts once, and an unreadable line is left out."""
    starts: dict[int, str] = {}
    try:
        text = (Path(run_dir) / ITERATIONS_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # absent or unreadable: the report shows one iteration
        text = ""
    for line in text.splitlines():
        try:
            entry = json.loads(line)
            first, planned = int(entry["first_task"]), str(entry["planned_at"])
        except (ValueError, KeyError, TypeError):
            continue
        if first > 0:
            starts.setdefault(first, planned)
    ordered = [(0, None), *sorted(starts.items())]
    return [Iteration(number, first, planned) for number, (first, planned) in enumerate(ordered, start=1)]
