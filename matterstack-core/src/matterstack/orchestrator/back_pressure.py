"""Back-pressure: an instance that takes no more work from the user for now (a per-user cap
on queued jobs, such as Slurm's ``MaxSubmitJobs``) raises :class:`BackPressureError` from
``submit``. The instance is then asked for no more submissions this tick; its attempts stay
CREATED, each recorded once with the refusal as its reason, one note of the tick says how
many wait, and the next tick tries again. Nothing fails and nothing counts as an outage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from matterstack.core.records import Attempt
from matterstack.core.status import AttemptStatus
from matterstack.errors import BackPressureError

if TYPE_CHECKING:
    from matterstack.orchestrator.tickstate import TickState

BACK_PRESSURE = "back_pressure"
"""``operator_data`` key of an attempt waiting behind a refusal: what the instance said."""


def record_waiting(state: TickState, key: str, waiting: list[tuple[Attempt, BackPressureError]]) -> None:
    """Attempts refused for now stay CREATED; the refusal becomes the reason of each (once,
    not again on every tick it repeats) and one note of the tick counts them."""
    for attempt, refusal in waiting:
        reason = f"waits to be submitted: {refusal.one_line()}"
        if attempt.status_reason == reason:
            continue
        state.transition(attempt, AttemptStatus.CREATED, reason, status_reason=reason,
                         operator_data={**attempt.operator_data, BACK_PRESSURE: refusal.what})
    state.note(f"{key}: {len(waiting)} attempt(s) wait to be submitted: {waiting[0][1].one_line()}")
    state.contact(key)  # it answered: a refusal is not an outage


def without_back_pressure(data: Mapping) -> dict:
    """``operator_data`` of an attempt that no longer waits behind a refusal."""
    return {name: value for name, value in data.items() if name != BACK_PRESSURE}
