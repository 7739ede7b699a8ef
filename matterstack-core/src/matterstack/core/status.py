"""Statuses of runs, tasks and attempts.

The enum values are the exact strings stored in the state database, including databases
written by MatterStack 0.2.x, so a status read from SQLite is ``Status(value)``.
"""

from __future__ import annotations

import enum


class StoredStatus(str, enum.Enum):
    """A status stored as its name; it prints as that name, as 0.2.x's plain strings did
    (scripts print statuses with f"{status}")."""

    def __str__(self) -> str:
        return self.value


class RunStatus(StoredStatus):
    """A run: PENDING → RUNNING → COMPLETED | FAILED | CANCELLED; RUNNING ⇄ PAUSED."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in RUN_TERMINAL


class AttemptStatus(StoredStatus):
    """One execution of a task; see ``matterstack.core.transitions`` for the rules."""

    CREATED = "CREATED"
    SUBMITTED = "SUBMITTED"
    WAITING_EXTERNAL = "WAITING_EXTERNAL"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    FAILED_INIT = "FAILED_INIT"

    @property
    def is_terminal(self) -> bool:
        return self in ATTEMPT_TERMINAL


class TaskStatus(StoredStatus):
    """A task's status is derived from its current attempt (or SKIPPED / PENDING)."""

    PENDING = "PENDING"
    WAITING_EXTERNAL = "WAITING_EXTERNAL"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"

    @property
    def is_terminal(self) -> bool:
        return self in TASK_TERMINAL


RUN_TERMINAL = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})
ATTEMPT_TERMINAL = frozenset(
    {AttemptStatus.COMPLETED, AttemptStatus.FAILED, AttemptStatus.CANCELLED, AttemptStatus.FAILED_INIT}
)
ATTEMPT_ACTIVE = frozenset(set(AttemptStatus) - ATTEMPT_TERMINAL)
TASK_TERMINAL = frozenset(
    {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.SKIPPED}
)
