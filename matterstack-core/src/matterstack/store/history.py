"""What the store keeps besides the current state: run and task status changes, run notes,
and the last contact with each operator instance (read by ``explain`` and the evidence).

Attempt transitions are :class:`matterstack.core.records.AttemptEvent` values.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from matterstack.core.status import RunStatus, TaskStatus


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
    """Something a tick wants a person to read later (a campaign that raised, say)."""

    text: str
    at: datetime


@attrs.frozen
class OperatorContact:
    """When an operator instance last answered, and the last error it gave."""

    operator_key: str
    last_ok_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
