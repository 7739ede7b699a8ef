"""``explain``: the run's frontier, what each unfinished task waits for, in the operator's
words, and since when."""

from __future__ import annotations

from collections import Counter

import attrs

from matterstack.core.times import utc_now
from matterstack.core.status import RunStatus, TaskStatus
from matterstack.errors import MatterStackError
from matterstack.core.operator_key import route_new_task
from matterstack.orchestrator.handle import RunHandle
from matterstack.orchestrator.legacy_config import read_legacy_config
from matterstack.orchestrator.observe import attempt_key, stub_words
from matterstack.orchestrator.schedule import key_limit, untagged_key
from matterstack.orchestrator.tickstate import TickState
from matterstack.wiring.summary import render_summary, wiring_summary


RECENT_NOTES = 5


@attrs.frozen
class Waiting:
    """One unfinished task and what it waits for."""

    task_id: str
    status: str
    waits_for: str
    operator_key: str | None = None
    since: str | None = None


@attrs.frozen
class Explanation:
    run_id: str
    status: str
    status_reason: str | None
    frontier: tuple[Waiting, ...]
    notes: tuple[str, ...]
    wiring: dict | None = None

    def as_dict(self) -> dict:
        return attrs.asdict(self)


def _age(moment) -> str:
    if moment is None:
        return ""
    seconds = int((utc_now() - moment).total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def explain(handle: RunHandle, store, registry) -> Explanation:
    """What every unfinished task of the run waits for (read-only: no lock, no writes)."""
    run = store.get_run()
    state = TickState(handle=handle, store=store, registry=registry)
    statuses = store.task_statuses()
    frontier = []
    active_attempts = store.active_attempts()
    active = {a.task_id: a for a in active_attempts}
    slots = _Slots(registry, read_legacy_config(handle.root_path), active_attempts)
    for task_id, status in statuses.items():
        status = TaskStatus(status)
        if status.is_terminal:
            continue
        attempt = active.get(task_id)
        if attempt is not None:
            frontier.append(_explain_attempt(state, attempt, status))
            continue
        task = store.get_task(task_id)
        open_deps = [f"{d} ({TaskStatus(statuses[d]).value})" for d in sorted(task.dependencies)
                     if d in statuses and not TaskStatus(statuses[d]).is_terminal]
        if open_deps:
            waits = "dependencies: " + ", ".join(open_deps)
        elif run.status == RunStatus.PAUSED:
            waits = "the run is paused (`matterstack resume` to start it)"
        else:
            waits = slots.why_ready_task_waits(task)
        frontier.append(Waiting(task_id, status.value, waits))
    # A note counted again is as recent as its last time.
    recent = sorted(store.run_notes(), key=lambda note: note.last_at)[-RECENT_NOTES:]
    notes = tuple(note.describe() for note in recent) + tuple(_contact_notes(store))
    wiring = wiring_summary(handle, registry.wiring, host=registry.host)
    return Explanation(run.run_id, run.status.value, run.status_reason, tuple(frontier), notes, wiring)


def _explain_attempt(state: TickState, attempt, status: TaskStatus) -> Waiting:
    key = attempt_key(attempt)
    since = attempt.submitted_at or attempt.created_at
    since_text = since.isoformat() if since else None
    if key is None:
        return Waiting(attempt.task_id, status.value, "nobody: " + stub_words(state.handle.run_id, attempt.task_id), key, since_text)
    if not state.registry.has(key):
        why = state.registry.missing_key_reason(key)
        return Waiting(attempt.task_id, status.value, f"cannot be polled: {why}", key, since_text)
    try:
        operator = state.registry.get(key)
        words = operator.describe_wait(state.contexts([attempt])[0])
    except MatterStackError as exc:
        words = f"{attempt.status.value} on {key}; operator unavailable: {exc.one_line()}"
    if since is not None:
        words = f"{words} (for {_age(since)})"
    return Waiting(attempt.task_id, status.value, words, key, since_text)


class _Slots:
    """What a ready task waits for: a free slot under the cap of its operator key (or the
    run's global cap), or nothing but the next tick."""

    def __init__(self, registry, legacy, active_attempts):
        self.registry = registry
        self.legacy = legacy
        self.per_key = Counter(attempt_key(a) for a in active_attempts)
        self.total = len(active_attempts)

    def why_ready_task_waits(self, task) -> str:
        wiring = self.registry.wiring
        if wiring.max_concurrent is not None and self.total >= wiring.max_concurrent:
            return (f"a free slot: {self.total} active attempts in the run, "
                    f"operators.yaml defaults.max_concurrent {wiring.max_concurrent}")
        try:
            routed = route_new_task(task, untagged_key(wiring, self.legacy))
        except MatterStackError as exc:
            return f"its next tick, which will refuse it: {exc.one_line()}"
        if routed.source == "default" and self.legacy is not None and self.legacy.simulates:
            return f"its next tick, which marks it COMPLETED without running it ({self.legacy.simulation_reason()})"
        if not self.registry.has(routed.key):
            return f"its next tick, which will refuse it: {self.registry.missing_key_reason(routed.key)}"
        limit, why = key_limit(self.registry, self.legacy, routed.key)
        if limit is not None and self.per_key[routed.key] >= limit:
            return f"a free slot: {self.per_key[routed.key]} active attempts on {routed.key}, {why} {limit}"
        return f"ready: starts on the next tick on {routed.key}"


def _contact_notes(store):
    """Instances that failed to answer more recently than they last answered."""
    for key, contact in sorted(store.operator_contacts().items()):
        if contact.last_error_at is None:
            continue
        if contact.last_ok_at is not None and contact.last_ok_at >= contact.last_error_at:
            continue
        last_ok = contact.last_ok_at.isoformat() if contact.last_ok_at else "never"
        yield (f"{key}: unreachable since {contact.last_error_at.isoformat()}: {contact.last_error} "
               f"(last successful contact: {last_ok})")


def render(explanation: Explanation) -> str:
    """The text ``matterstack explain`` prints."""
    head = f"Run {explanation.run_id}: {explanation.status}"
    if explanation.status_reason:
        head += f" ({explanation.status_reason})"
    lines = [head]
    if not explanation.frontier:
        lines.append("Nothing is waiting.")
    for w in explanation.frontier:
        lines.append(f"  {w.task_id} [{w.status}] waits for {w.waits_for}")
    for note in explanation.notes:
        lines.append(f"  note: {note}")
    if explanation.wiring:
        lines.extend(f"  {line}" for line in render_summary(explanation.wiring))
    return "\n".join(lines)
