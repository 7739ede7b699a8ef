"""MatterStack 0.2.6's id functions, kept for workspaces and scripts that import them.

All make ``YYYYMMDD_HHMMSS_<8 hex>`` ids (see :mod:`matterstack.core.ids`, which MatterStack
itself uses); ``generate_task_id(hint)`` puts a cleaned-up hint in front, as 0.2.6 did:
``generate_task_id("Phase 1 - Setup")`` gives ``phase_1_setup_20231225_143052_a1b2c3d4``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from matterstack.core.ids import chronological_id

__all__ = ["generate_chronological_id", "generate_run_id", "generate_attempt_id", "generate_task_id",
           "with_collision_retry"]

HINT_LENGTH = 20
"""0.2.6 cut a hint to this many characters."""


def generate_chronological_id(prefix: str = "") -> str:
    """``[prefix_]YYYYMMDD_HHMMSS_<8 hex>``, the time being now in UTC."""
    made = chronological_id()
    return f"{prefix}_{made}" if prefix else made


def generate_run_id() -> str:
    """A run id: ``YYYYMMDD_HHMMSS_<8 hex>``."""
    return chronological_id()


def generate_attempt_id() -> str:
    """An attempt id: ``YYYYMMDD_HHMMSS_<8 hex>`` (a run names its attempts itself)."""
    return chronological_id()


def generate_task_id(hint: str = "") -> str:
    """A task id, after ``hint`` made lower-case, every character but ``a-z0-9_`` turned into
    ``_``, cut to 20 characters, runs of ``_`` made one and trimmed (a hint left empty adds
    nothing)."""
    cleaned = re.sub(r"_+", "_", re.sub(r"[^a-z0-9_]", "_", hint.lower())[:HINT_LENGTH]).strip("_")
    return generate_chronological_id(prefix=cleaned)


def with_collision_retry(generator: Callable[..., str], max_retries: int = 3,
                         delay_ms: int = 10) -> Callable[..., str]:
    """``generator`` wrapped so that a call giving the same id as the previous call is
    retried up to ``max_retries`` times, ``delay_ms`` apart, then made once more."""
    last: list[str] = []

    def wrapped(*args, **kwargs) -> str:
        for _ in range(max_retries):
            made = generator(*args, **kwargs)
            if not last or made != last[0]:
                last[:] = [made]
                return made
            time.sleep(delay_ms / 1000.0)
        return generator(*args, **kwargs)

    return wrapped
