"""Appends one JSON line per recorded attempt transition.

The file is ``$MATTERSTACK_EVENTS_FILE`` when set, else ``matterstack-events.jsonl`` in the
folder the ``matterstack`` command runs in: an event names its run, not the run's folder.
Each line is ``{"attempt", "task", "run", "from", "to", "reason", "time"}``, ``from`` being
null for an attempt's creation. Lines are appended in one write each, so several runs
stepped at once may share the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from matterstack.plugins import hookimpl

if TYPE_CHECKING:
    from matterstack.plugins import AttemptEvent

EVENTS_FILE_VARIABLE = "MATTERSTACK_EVENTS_FILE"
DEFAULT_EVENTS_FILE = "matterstack-events.jsonl"


def events_file() -> Path:
    """Where the lines go: ``$MATTERSTACK_EVENTS_FILE``, else the default in the current folder."""
    return Path(os.environ.get(EVENTS_FILE_VARIABLE) or DEFAULT_EVENTS_FILE)


def event_line(event: AttemptEvent) -> str:
    """One transition as one JSON line, newline included."""
    record = {
        "attempt": event.attempt_id,
        "task": event.task_id,
        "run": event.run_id,
        "from": event.from_status.value if event.from_status is not None else None,
        "to": event.to_status.value,
        "reason": event.reason,
        "time": event.at.isoformat(),
    }
    return json.dumps(record) + "\n"


@hookimpl
def matterstack_attempt_transition(event):
    path = events_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, event_line(event).encode())
    finally:
        os.close(fd)
