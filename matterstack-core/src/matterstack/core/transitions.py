"""The status rules of runs, attempts and tasks, as pure functions.

* Attempt: CREATED → SUBMITTED | WAITING_EXTERNAL | RUNNING | terminal;
  SUBMITTED → RUNNING | WAITING_EXTERNAL | terminal; WAITING_EXTERNAL → RUNNING | terminal;
  RUNNING → terminal. Terminal: COMPLETED, FAILED, CANCELLED, FAILED_INIT.
* Run: PENDING → RUNNING | PAUSED | terminal; RUNNING → PAUSED | terminal;
  PAUSED → RUNNING | terminal; a terminal run goes back to PENDING only through revive.
* Nothing leaves a terminal status otherwise; every change carries a non-empty reason; a
  "change" to the same non-terminal status is allowed and changes nothing.
* A task's status is derived from its current attempt (:func:`task_status_for_attempt`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Literal

import attrs

from matterstack.core.records import Attempt, AttemptEvent, Run
from matterstack.core.status import (
    ATTEMPT_ACTIVE,
    ATTEMPT_TERMINAL,
    RUN_TERMINAL,
    TASK_TERMINAL,
    AttemptStatus,
    RunStatus,
    TaskStatus,
)
from matterstack.errors import TransitionError

_A = AttemptStatus
ATTEMPT_TRANSITIONS: Mapping[AttemptStatus, frozenset[AttemptStatus]] = MappingProxyType(
    {
        _A.CREATED: frozenset({_A.SUBMITTED, _A.WAITING_EXTERNAL, _A.RUNNING}) | ATTEMPT_TERMINAL,
        _A.SUBMITTED: frozenset({_A.RUNNING, _A.WAITING_EXTERNAL}) | ATTEMPT_TERMINAL,
        _A.WAITING_EXTERNAL: frozenset({_A.RUNNING}) | ATTEMPT_TERMINAL,
        _A.RUNNING: ATTEMPT_TERMINAL,
        **{status: frozenset() for status in ATTEMPT_TERMINAL},
    }
)
"""For each attempt status, the statuses it may change to (besides itself)."""

_R = RunStatus
RUN_TRANSITIONS: Mapping[RunStatus, frozenset[RunStatus]] = MappingProxyType(
    {
        _R.PENDING: frozenset({_R.RUNNING, _R.PAUSED}) | RUN_TERMINAL,
        _R.RUNNING: frozenset({_R.PAUSED}) | RUN_TERMINAL,
        _R.PAUSED: frozenset({_R.RUNNING}) | RUN_TERMINAL,
        **{status: frozenset() for status in RUN_TERMINAL},
    }
)
"""For each run status, the statuses it may change to without revive (besides itself)."""

_TASK_VIEW: Mapping[AttemptStatus, TaskStatus] = MappingProxyType(
    {
        # A task with a live attempt is never PENDING, so the scheduler cannot start a
        # second attempt while the first one is still being submitted.
        _A.CREATED: TaskStatus.WAITING_EXTERNAL,
        _A.SUBMITTED: TaskStatus.WAITING_EXTERNAL,
        _A.WAITING_EXTERNAL: TaskStatus.WAITING_EXTERNAL,
        _A.RUNNING: TaskStatus.RUNNING,
        _A.COMPLETED: TaskStatus.COMPLETED,
        _A.FAILED: TaskStatus.FAILED,
        _A.CANCELLED: TaskStatus.CANCELLED,
        _A.FAILED_INIT: TaskStatus.FAILED,
    }
)

DEPENDENCY_FAILED = frozenset({TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.SKIPPED})
"""Dependency statuses that skip a dependent task unless it allows dependency failure."""

_ATTEMPT_FIELDS_SET_BY_RULES = frozenset(
    {"attempt_id", "task_id", "run_id", "attempt_index", "status", "created_at", "submitted_at", "ended_at"}
)


def check_attempt_transition(current: AttemptStatus, new: AttemptStatus, reason: str) -> None:
    """Raise :class:`TransitionError` unless an attempt may go from ``current`` to ``new``."""
    current, new = _status(AttemptStatus, current), _status(AttemptStatus, new)
    _check_reason(reason, f"attempt {current.value} -> {new.value}")
    if current in ATTEMPT_TERMINAL:
        raise TransitionError(
            f"attempt is {current.value}, which is final; it cannot become {new.value}",
            fix="start a new attempt (rerun) instead",
        )
    if new is not current and new not in ATTEMPT_TRANSITIONS[current]:
        allowed = ", ".join(sorted(status.value for status in ATTEMPT_TRANSITIONS[current]))
        raise TransitionError(
            f"attempt cannot go from {current.value} to {new.value} (allowed: {allowed})"
        )


def apply_attempt_transition(
    attempt: Attempt, new_status: AttemptStatus, reason: str, at: datetime, **changes: Any
) -> tuple[Attempt, AttemptEvent]:
    """The attempt after the change, and the event that records it.

    ``submitted_at`` is set at the first change away from CREATED and ``ended_at`` at the
    first terminal status (0.2.x semantics); ``status_reason`` becomes ``reason`` when the
    status changes. ``changes`` may set ``operator_key``, ``operator_type``,
    ``external_id``, ``operator_data``, ``relative_path`` or ``status_reason``; they are
    copied into the event's ``data``, except ``operator_data`` (large, and kept on the
    attempt itself).
    """
    new_status = _status(AttemptStatus, new_status)
    check_attempt_transition(attempt.status, new_status, reason)
    forbidden = sorted(set(changes) & _ATTEMPT_FIELDS_SET_BY_RULES)
    unknown = sorted(set(changes) - set(attrs.fields_dict(Attempt)))
    if forbidden or unknown:
        raise ValueError(f"apply_attempt_transition cannot set {forbidden + unknown}")
    at = _utc(at)
    updates: dict[str, Any] = {"status": new_status}
    if new_status is not attempt.status:
        updates["status_reason"] = reason
    if attempt.status is AttemptStatus.CREATED and new_status is not AttemptStatus.CREATED:
        if attempt.submitted_at is None:
            updates["submitted_at"] = at
    if new_status in ATTEMPT_TERMINAL and attempt.ended_at is None:
        updates["ended_at"] = at
    updates.update(changes)
    event = AttemptEvent(
        attempt_id=attempt.attempt_id,
        task_id=attempt.task_id,
        run_id=attempt.run_id,
        from_status=attempt.status,
        to_status=new_status,
        reason=reason,
        at=at,
        data={name: value for name, value in changes.items() if name != "operator_data"},
    )
    return attrs.evolve(attempt, **updates), event


def task_status_for_attempt(attempt_status: AttemptStatus | None) -> TaskStatus:
    """The status a task shows for its current attempt's status (``None``: no attempt yet).

    CREATED and SUBMITTED show as WAITING_EXTERNAL; FAILED_INIT shows as FAILED.
    """
    if attempt_status is None:
        return TaskStatus.PENDING
    return _TASK_VIEW[_status(AttemptStatus, attempt_status)]


def check_run_transition(
    current: RunStatus, new: RunStatus, reason: str, *, revive: bool = False
) -> None:
    """Raise :class:`TransitionError` unless a run may go from ``current`` to ``new``.

    With ``revive=True`` the only allowed change is from a terminal status to PENDING.
    """
    current, new = _status(RunStatus, current), _status(RunStatus, new)
    _check_reason(reason, f"run {current.value} -> {new.value}")
    if revive:
        if current not in RUN_TERMINAL or new is not RunStatus.PENDING:
            raise TransitionError(
                f"revive moves a finished run back to PENDING; this run is {current.value}"
            )
        return
    if current in RUN_TERMINAL:
        raise TransitionError(
            f"run is {current.value}, which is final; it cannot become {new.value}",
            fix="revive the run first: matterstack revive <run>",
        )
    if new is not current and new not in RUN_TRANSITIONS[current]:
        allowed = ", ".join(sorted(status.value for status in RUN_TRANSITIONS[current]))
        raise TransitionError(f"run cannot go from {current.value} to {new.value} (allowed: {allowed})")


def apply_run_transition(run: Run, new_status: RunStatus, reason: str, *, revive: bool = False) -> Run:
    """The run after the change; ``status_reason`` becomes ``reason``."""
    new_status = _status(RunStatus, new_status)
    check_run_transition(run.status, new_status, reason, revive=revive)
    return attrs.evolve(run, status=new_status, status_reason=reason)


def revive_run(run: Run, reason: str) -> Run:
    """A terminal run moved back to PENDING (``matterstack revive``)."""
    return apply_run_transition(run, RunStatus.PENDING, reason, revive=True)


def dependency_outcome(
    dep_statuses: Iterable[TaskStatus], allow_dependency_failure: bool
) -> Literal["wait", "ready", "skip"]:
    """What a task whose dependencies have ``dep_statuses`` should do now.

    COMPLETED dependencies satisfy it. A FAILED, CANCELLED or SKIPPED dependency skips it
    at once, unless it allows dependency failure, in which case such a dependency only
    counts as finished. Anything else not yet finished means wait.
    """
    statuses = [_status(TaskStatus, status) for status in dep_statuses]
    if not allow_dependency_failure and any(status in DEPENDENCY_FAILED for status in statuses):
        return "skip"
    if all(status in TASK_TERMINAL for status in statuses):
        return "ready"
    return "wait"


def _status(enum: type, value: object) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise TransitionError(f"unknown {enum.__name__} {value!r}") from None


def _check_reason(reason: object, change: str) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise TransitionError(f"status change {change} needs a reason", fix="say why it changed")


def _utc(moment: datetime) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"transition time must be a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(timezone.utc)


__all__ = [
    "ATTEMPT_ACTIVE",
    "ATTEMPT_TERMINAL",
    "ATTEMPT_TRANSITIONS",
    "DEPENDENCY_FAILED",
    "RUN_TERMINAL",
    "RUN_TRANSITIONS",
    "TASK_TERMINAL",
    "apply_attempt_transition",
    "apply_run_transition",
    "check_attempt_transition",
    "check_run_transition",
    "dependency_outcome",
    "revive_run",
    "task_status_for_attempt",
]
