"""Orphaned attempts, as MatterStack 0.2.x's ``cleanup-orphans`` defined them: CREATED, no
external id, and older than a given age. Such an attempt was never handed to anything
outside (a crash before submission, or an operator key this run cannot reach), so marking
it FAILED_INIT stops nothing and lets the task be rerun.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from matterstack.core.records import Attempt
from matterstack.core.status import AttemptStatus
from matterstack.errors import ConfigError

DEFAULT_TIMEOUT = "1h"
"""0.2.x's default age threshold."""

_TIMEOUT = re.compile(r"(\d+)([hms]?)")
_SECONDS = {"h": 3600, "m": 60, "s": 1, "": 1}


def parse_timeout(text: str) -> timedelta:
    """``1h``, ``30m``, ``3600s`` or ``3600`` (seconds) as a duration, as 0.2.x read
    ``--timeout`` (any case, surrounding spaces ignored); ConfigError otherwise."""
    match = _TIMEOUT.fullmatch(text.strip().lower()) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(f"invalid timeout {text!r}", where="cleanup-orphans --timeout",
                          fix="write a whole number with h, m or s, e.g. 1h, 30m, 3600s or 3600")
    return timedelta(seconds=int(match.group(1)) * _SECONDS[match.group(2)])


def is_orphan(attempt: Attempt, now: datetime, timeout: timedelta) -> bool:
    """CREATED, no external id, and created more than ``timeout`` before ``now``."""
    return (attempt.status == AttemptStatus.CREATED and not attempt.external_id
            and attempt.created_at is not None and attempt.created_at < now - timeout)


def find_orphans(attempts: Iterable[Attempt], now: datetime, timeout: timedelta) -> list[Attempt]:
    """The orphans among ``attempts``, oldest first."""
    found = [a for a in attempts if is_orphan(a, now, timeout)]
    return sorted(found, key=lambda a: (a.created_at, a.task_id, a.attempt_index))


def describe_age(created_at: datetime, now: datetime) -> str:
    """How long ago, as 0.2.x printed it: ``1h 15m`` or ``42m``."""
    hours, rest = divmod(int((now - created_at).total_seconds()), 3600)
    minutes = rest // 60
    return f"{hours}h {minutes}m" if hours > 0 else f"{minutes}m"
