"""Chronological ids: ``YYYYMMDD_HHMMSS_<8 hex>``, the UTC second of creation and 8 random
hex digits, as MatterStack 0.2.6 named runs, attempts and tasks made without a ``task_id``.

A folder of such ids lists in creation order, to the second. Within one second the suffix is
random, so ids of the same second do not sort by creation, except where a caller passes
``after``: a task's attempts are named after its previous attempt, so
``tasks/<task>/attempts/`` always lists in attempt order. Ids made before 0.2.6 (the uuid4
attempt ids of a migrated run) stay as they are; nothing reads the time back out of an id.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Container
from datetime import datetime, timedelta, timezone

from matterstack.core.times import utc_now

CHRONOLOGICAL_ID = re.compile(r"(\d{8}_\d{6})_([0-9a-f]{8})\Z")
"""A chronological id; group 1 is its second (``YYYYMMDD_HHMMSS``), group 2 its suffix."""

SUFFIXES = 16**8
"""How many suffixes one second has (4,294,967,296)."""

_SECOND_FORMAT = "%Y%m%d_%H%M%S"


def id_second(at: datetime) -> str:
    """``YYYYMMDD_HHMMSS`` of ``at`` in UTC; a naive ``at`` is taken to be UTC already."""
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc)
    return at.strftime(_SECOND_FORMAT)


def is_chronological_id(value: object) -> bool:
    """Whether ``value`` is a chronological id (a uuid4 of an older run is not)."""
    return isinstance(value, str) and CHRONOLOGICAL_ID.match(value) is not None


def chronological_id(at: datetime | None = None, *, after: str | None = None,
                     taken: Container[str] = frozenset()) -> str:
    """A new id for something created at ``at`` (default: now).

    ``after``: an id the new one must sort after. When it is chronological and its second is
    not earlier than ``at``'s (the same second, or the clock went back), the new id keeps that
    second and draws a larger suffix, moving to the next second only if none is left.
    ``taken``: ids already in use; a clash is drawn again, above the clashing suffix.
    """
    second = id_second(at or utc_now())
    floor = -1
    previous = CHRONOLOGICAL_ID.match(after) if after is not None else None
    if previous is not None and previous[1] >= second:
        second, floor = previous[1], int(previous[2], 16)
    while True:
        if floor >= SUFFIXES - 1:
            second, floor = _next_second(second), -1
        # os.urandom, not random: processes forked at the same moment must not share a stream.
        suffix = floor + 1 + int.from_bytes(os.urandom(4), "big") % (SUFFIXES - floor - 1)
        candidate = f"{second}_{suffix:08x}"
        if candidate not in taken:
            return candidate
        floor = suffix


class IssuedIds:
    """Hands out chronological ids that never repeat within this process: the ids of the
    current second are remembered (and forgotten when the second changes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._second = ""
        self._ids: set[str] = set()

    def new(self) -> str:
        """A fresh id, distinct from every other this instance gave out in the same second."""
        with self._lock:
            candidate = chronological_id(taken=self._ids)
            if candidate[:15] != self._second:
                self._second, self._ids = candidate[:15], set()
            self._ids.add(candidate)
            return candidate


def _next_second(second: str) -> str:
    return (datetime.strptime(second, _SECOND_FORMAT) + timedelta(seconds=1)).strftime(_SECOND_FORMAT)
