"""Tick phases that look outward: reconcile attempts left CREATED by a crash, and poll
every active attempt, one ``poll`` call per operator instance.

Each phase returns the transitions it wants recorded; the tick commits them in one
transaction. Transient operator errors never change an attempt: they become notes that
``step`` prints and the outage log that ``explain`` shows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING

from matterstack.core.attempt_results import AttemptResults
from matterstack.core.operator_key import resolve_attempt_operator_key
from matterstack.core.records import Attempt
from matterstack.core.status import AttemptStatus
from matterstack.core.transitions import ATTEMPT_TRANSITIONS
from matterstack.errors import MatterStackError, PermanentOperatorError, TransientOperatorError
from matterstack.orchestrator.operator_registry import unbuildable_reason
from matterstack.orchestrator.tickstate import TickState

if TYPE_CHECKING:
    from matterstack.plugins.interfaces import AttemptContext, Observation, Operator


_STATUSES = {status.value: status for status in AttemptStatus}


def attempt_key(attempt: Attempt) -> str | None:
    """The operator key an existing attempt belongs to (column → operator_data → legacy type)."""
    return resolve_attempt_operator_key(
        attempt.operator_key, attempt.operator_data, attempt.operator_type
    ).key


def group_by_key(attempts: list[Attempt]) -> dict[str | None, list[Attempt]]:
    groups: dict[str | None, list[Attempt]] = defaultdict(list)
    # A usable column decides alone, so each distinct column value is resolved once.
    by_column: dict[str | None, str] = {}
    for attempt in attempts:
        key = by_column.get(attempt.operator_key)
        if key is None:
            key = attempt_key(attempt)
            if resolve_attempt_operator_key(attempt.operator_key, None, None).key is not None:
                by_column[attempt.operator_key] = key
        groups[key].append(attempt)
    return groups


def stub_words(run_id: str, task_ids: str) -> str:
    """Why an attempt with no operator key is left alone, and how to move on: MatterStack
    0.2.7 gave an ``ExternalTask`` with no operator a "stub" attempt nothing ever answers."""
    return (f"no operator key recorded (a stub MatterStack 0.2.x left for a task with no operator; "
            f"fix: `matterstack rerun {run_id} {task_ids} --force` gives it a new attempt on its default operator)")


def usable_operator(state: TickState, key: str | None, attempts: list[Attempt]) -> Operator | None:
    """The operator for ``key``, or None after noting why these attempts are left alone."""
    if key is None or not state.registry.has(key):
        ids = ", ".join(sorted(a.task_id for a in attempts))
        what = stub_words(state.handle.run_id, ids) if key is None else state.registry.missing_key_reason(key)
        state.note(f"{len(attempts)} attempt(s) left unchanged ({ids}): {what}")
        return None
    try:
        return state.registry.get(key)
    except MatterStackError as exc:
        state.note(f"{key}: {exc.one_line()}; {len(attempts)} attempt(s) left unchanged")
        return None


def reconcile_created(state: TickState, attempts: list[Attempt]) -> list[Attempt]:
    """Resolve attempts whose submission outcome is unknown.

    The operator says whether the outside world already has each one (adopted, with its
    external id); the rest are submitted again with the same token, which operators treat
    idempotently. Returns the attempts that still need submitting. Attempts of an instance
    whose operator cannot be built are failed FAILED_INIT with the reason, so they never
    wait for ever.
    """
    resubmit: list[Attempt] = []
    for key, group in group_by_key(attempts).items():
        unbuildable = state.registry.build_failure(key) if key is not None and state.registry.has(key) else None
        if unbuildable is not None:  # no operator of it ever ran in this version: nothing to ask
            for attempt in group:
                state.transition(attempt, AttemptStatus.FAILED_INIT, unbuildable_reason(key, unbuildable))
            continue
        operator = usable_operator(state, key, group)
        if operator is None:
            continue
        contexts = state.contexts(group)
        try:
            found = operator.reconcile(contexts)
        except TransientOperatorError as exc:
            state.outage(key, exc, len(group))
            continue
        for attempt in group:
            observation = found.get(attempt.attempt_id)
            if observation is None:
                resubmit.append(attempt)
            else:
                state.transition(
                    attempt,
                    observation.status,
                    observation.reason or "adopted after an interrupted submission",
                    external_id=observation.external_id or attempt.external_id,
                )
    return resubmit


def poll_active(state: TickState, attempts: list[Attempt]) -> None:
    """Poll every submitted attempt and collect the finished ones: the operator first gets
    all of them in one ``fetch_results``, then one ``collect`` per attempt."""
    for key, group in group_by_key(attempts).items():
        operator = usable_operator(state, key, group)
        if operator is None:
            continue
        contexts = {c.attempt_id: c for c in state.contexts(group, defer_tasks=True)}
        try:
            observations = operator.poll(list(contexts.values()))
        except TransientOperatorError as exc:
            state.outage(key, exc, len(group))
            continue
        state.contact(key)
        changes = _changes(group, observations)
        finishing = [contexts[attempt.attempt_id] for attempt, status, _, _ in changes if status.is_terminal]
        if finishing:
            _fetch_results(state, operator, finishing, key)
        for attempt, status, external_id, observation in changes:
            data = dict(attempt.operator_data)
            reason = observation.reason or f"{key} reports {status.value}"
            if status.is_terminal:
                collected = _collect(state, operator, contexts[attempt.attempt_id], key)
                if collected is None:
                    continue  # transient trouble fetching results: poll again next tick
                data.update(collected.operator_data())
            if observation.exit_code is not None:
                data["exit_code"] = observation.exit_code
            state.transition(attempt, status, reason, external_id=external_id, operator_data=data)


def _changes(group: list[Attempt], observations: Mapping[str, Observation]
             ) -> list[tuple[Attempt, AttemptStatus, str | None, Observation]]:
    """``(attempt, status, external_id, observation)`` of each attempt the observations move."""
    changes = []
    for attempt in group:
        observation = observations.get(attempt.attempt_id)
        if observation is None:
            continue
        status = _STATUSES.get(observation.status) or AttemptStatus(observation.status)
        external_id = observation.external_id or attempt.external_id
        if status == attempt.status and external_id == attempt.external_id:
            continue
        if status != attempt.status and status not in ATTEMPT_TRANSITIONS[attempt.status]:
            continue  # a backwards report (a requeued job is queued again): same attempt
        changes.append((attempt, status, external_id, observation))
    return changes


def _fetch_results(state: TickState, operator: Operator, contexts: list[AttemptContext], key: str) -> None:
    try:
        operator.fetch_results(contexts)
    except TransientOperatorError as exc:
        state.outage(key, exc, len(contexts), then="collected one at a time instead")


def _collect(state: TickState, operator: Operator, context: AttemptContext, key: str) -> AttemptResults | None:
    try:
        result = operator.collect(context)
    except TransientOperatorError as exc:
        state.outage(key, exc, 1)
        return None
    except PermanentOperatorError as exc:
        return AttemptResults(collect_error=exc.one_line())
    return AttemptResults(files=dict(result.files), data=dict(result.data), sha256=dict(result.sha256))

