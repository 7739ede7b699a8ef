"""Runs, attempts and attempt events as the state store records them.

These are plain attrs values: the store reads and writes them, the orchestrator and the
transition rules (``matterstack.core.transitions``) compute new ones. Timestamps are always
timezone-aware UTC ``datetime`` objects (legacy naive values are read as UTC).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from matterstack.core.status import AttemptStatus, RunStatus


@attrs.frozen
class Run:
    """One run of a campaign in a workspace; one state database per run."""

    run_id: str
    workspace_slug: str
    root_path: str
    created_at: datetime
    status: RunStatus = RunStatus.PENDING
    status_reason: str | None = None
    tags: dict[str, Any] = attrs.field(factory=dict)
    description: str | None = None


@attrs.frozen
class Attempt:
    """One execution of a task on one operator instance.

    ``attempt_id`` is also the idempotency token the operator attaches to whatever it
    creates outside (Slurm job name, request file, HTTP idempotency key).
    """

    attempt_id: str
    task_id: str
    run_id: str
    attempt_index: int
    status: AttemptStatus = AttemptStatus.CREATED
    operator_key: str | None = None
    operator_type: str | None = None
    external_id: str | None = None
    operator_data: dict[str, Any] = attrs.field(factory=dict)
    relative_path: str | None = None
    created_at: datetime | None = None
    submitted_at: datetime | None = None
    ended_at: datetime | None = None
    status_reason: str | None = None


@attrs.frozen
class AttemptEvent:
    """One recorded attempt transition, as kept in the append-only event log."""

    attempt_id: str
    task_id: str
    run_id: str
    from_status: AttemptStatus | None
    to_status: AttemptStatus
    reason: str
    at: datetime
    data: dict[str, Any] = attrs.field(factory=dict)
