"""What the store keeps besides the current state: run and task status changes, run notes,
and the last contact with each operator instance (read by ``explain`` and the evidence).

Attempt transitions are :class:`matterstack.core.records.AttemptEvent` values.
"""

from __future__ import annotations

import re
from datetime import datetime

import attrs

from matterstack.core.status import RunStatus, TaskStatus
from matterstack.core.times import datetime_from_text, datetime_to_text


@attrs.frozen
class RunEvent:
    """One change of the run's status, with its reason (``from_status`` None at creation)."""

    from_status: RunStatus | None
    to_status: RunStatus
    reason: str
    at: datetime


@attrs.frozen
class TaskEvent:
    """One direct change of a task's status (skip, cancel, rerun), with its reason."""

    task_id: str
    from_status: TaskStatus
    to_status: TaskStatus
    reason: str
    at: datetime


@attrs.frozen
class RunNote:
    """Something a tick wants a person to read later (a campaign that raised, say): first
    recorded ``at``, recorded ``count`` times in all, the last time ``last_at``."""

    text: str
    at: datetime
    count: int = 1
    last_at: datetime = attrs.field(default=attrs.Factory(lambda note: note.at, takes_self=True))

    def describe(self) -> str:
        """``<first time>: <text>``, with how many times and the last time if it came back."""
        again = f" ({self.count} times, the last at {self.last_at.isoformat()})" if self.count > 1 else ""
        return f"{self.at.isoformat()}: {self.text}{again}"


# A note recorded again is kept once, its text followed by how many times and the last time:
# the run_notes table (schema v5) has no columns for them.
_REPEATED = re.compile(r"(?P<text>.*) \[(?P<count>[0-9]+) times, the last at (?P<last>[^\]]+)\]", re.DOTALL)


def repeated_note_prefix(text: str) -> str:
    """How the stored text of ``text`` recorded more than once begins."""
    return f"{text} ["


def stored_note_text(text: str, count: int, last_at: datetime) -> str:
    """What the ``run_notes.text`` column holds for ``text`` recorded ``count`` times."""
    return text if count <= 1 else f"{text} [{count} times, the last at {datetime_to_text(last_at)}]"


def note_from_row(stored: str, at: datetime) -> RunNote:
    """The note a ``run_notes`` row holds (``stored``: its text column, ``at``: when first
    recorded)."""
    match = _REPEATED.fullmatch(stored)
    if match is not None:
        try:
            last_at = datetime_from_text(match["last"])
        except ValueError:  # not our suffix: a text that happens to end like one
            return RunNote(text=stored, at=at)
        return RunNote(text=match["text"], at=at, count=int(match["count"]), last_at=last_at)
    return RunNote(text=stored, at=at)


@attrs.frozen
class OperatorContact:
    """When an operator instance last answered, and the last error it gave."""

    operator_key: str
    last_ok_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
