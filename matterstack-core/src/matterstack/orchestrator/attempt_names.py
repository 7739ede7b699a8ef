"""Names for a tick's new attempts: chronological ids (``YYYYMMDD_HHMMSS_<8 hex>``, the tick's
second), as MatterStack 0.2.6 named attempts.

Each is drawn after its task's latest attempt, so ``tasks/<task>/attempts/`` lists a task's
attempts in attempt order even when two fall in the same second or the clock went back. Ids
are unique within the tick by construction and checked against the run's database (the
``task_attempts`` primary key) before anything is written: 8 random hex digits clash once in
four billion draws of the same second, and a clash would refuse the whole batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import attrs

from matterstack.core.ids import chronological_id
from matterstack.core.records import Attempt
from matterstack.orchestrator.job_view import job_view_path


def attempt_path(task_id: str, attempt_id: str, in_job_view: bool = False) -> str:
    """The attempt's folder, relative to the run: ``tasks/<task_id>/attempts/<attempt_id>``, or
    in a run begun by 0.2.4 (``in_job_view``) ``jobs-0.2.4/<task_id>.<attempt_id>``
    (see :mod:`matterstack.orchestrator.job_view`)."""
    return job_view_path(task_id, attempt_id) if in_job_view else f"tasks/{task_id}/attempts/{attempt_id}"


class AttemptNames:
    """Hands out the ids of one tick's new attempts (see the module docstring)."""

    def __init__(self, store, at: datetime, latest: Mapping[str, str | None], in_job_view: bool = False) -> None:
        self._store = store
        self._in_job_view = in_job_view
        self._at = at
        self._latest = latest
        self._issued: set[str] = set()

    def new(self, task_id: str) -> str:
        """An id for a new attempt of ``task_id``, after its latest attempt's."""
        attempt_id = chronological_id(self._at, after=self._latest.get(task_id), taken=self._issued)
        self._issued.add(attempt_id)
        return attempt_id

    def settled(self, attempts: Iterable[Attempt]) -> dict[str, Attempt]:
        """The attempts whose id the run holds already, renamed: by their first id."""
        current = {attempt.attempt_id: attempt for attempt in attempts}
        checking = list(current)
        while checking:
            taken = self._store.taken_attempt_ids(current[first].attempt_id for first in checking)
            self._issued |= taken
            checking = [first for first in checking if current[first].attempt_id in taken]
            for first in checking:
                attempt = current[first]
                attempt_id = self.new(attempt.task_id)
                current[first] = attrs.evolve(attempt, attempt_id=attempt_id,
                                              relative_path=attempt_path(attempt.task_id, attempt_id, self._in_job_view))
        return {first: attempt for first, attempt in current.items() if attempt.attempt_id != first}
