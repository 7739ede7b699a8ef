"""``explain``: the run's frontier, what each unfinished task waits for, in the operator's
words, and since when."""

from __future__ import annotations

from collections import Counter

import attrs

from matterstack.core.times import utc_now
from matterstack.core.status import RunStatus
from matterstack.errors import MatterStackError
from matterstack.core.operator_key import route_new_task
from matterstack.orchestrator.handle import RunHandle
from matterstack.orchestrator.legacy_config import read_legacy_config
from matterstack.orchestrator.observe import attempt_key, stub_words
from matterstack.orchestrator.schedule import key_limit, untagged_key
from matterstack.orchestrator.tickstate import TickState
from matterstack.wiring.summary import render_summary, wiring_summary


RECENT_NOTES = 5
DESCRIBED = 1000
"""Unfinished tasks the text of ``explain`` describes one by one; the others are counted."""
ATTEMPT, DEPENDENCIES, START = "attempt", "dependencies", "start"
MORE_WORDS = {ATTEMPT: "with an active attempt", DEPENDENCIES: "waiting for dependencies",
              START: "waiting to start"}


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
    """What a run's unfinished tasks wait for: ``frontier`` describes them (all, or the first
    ones asked for), ``more`` counts the rest by what they wait for (:data:`MORE_WORDS`)."""

    run_id: str
    status: str
    status_reason: str | None
    frontier: tuple[Waiting, ...]
    notes: tuple[str, ...]
    wiring: dict | None = None
    more: dict[str, int] = attrs.field(factory=dict)

    def as_dict(self) -> dict:
        """The explanation as JSON values (``explain --json``)."""
        frontier = [{"task_id": w.task_id, "status": w.status, "waits_for": w.waits_for,
                     "operator_key": w.operator_key, "since": w.since} for w in self.frontier]
        return {"run_id": self.run_id, "status": self.status, "status_reason": self.status_reason,
                "frontier": frontier, "notes": list(self.notes), "wiring": self.wiring, "more": self.more}


def _age(moment) -> str:
    if moment is None:
        return ""
    seconds = int((utc_now() - moment).total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def explain(handle: RunHandle, store, registry, *, shown: int | None = None) -> Explanation:
    """What every unfinished task of the run waits for (read-only: no lock, no writes); with
    ``shown``, the first ``shown`` of them, and the others counted in ``more``.

    The run is read in a few queries whatever its size (a run of a million tasks is explained
    in seconds): the unfinished tasks, their unfinished dependencies, the active attempts, and
    the definitions of the ready tasks described."""
    run = store.get_run()
    state = TickState(handle=handle, store=store, registry=registry)
    active_attempts = store.active_attempts()
    active = {a.task_id: a for a in active_attempts}
    described: list[tuple[str, str]] = []
    more: Counter = Counter()
    for task_id, status, waiting_on in store.unfinished_tasks():
        if shown is None or len(described) < shown:
            described.append((task_id, status))
        else:
            more[ATTEMPT if task_id in active else DEPENDENCIES if waiting_on else START] += 1
    blocked = store.unfinished_dependencies(None if shown is None else [task_id for task_id, _ in described])
    attempts = [active[task_id] for task_id, _ in described if task_id in active]
    contexts = dict(zip((a.attempt_id for a in attempts), state.contexts(attempts, defer_tasks=True)))
    ready = store.get_tasks([task_id for task_id, _ in described if task_id not in active and task_id not in blocked])
    slots = _Slots(registry, read_legacy_config(handle.root_path), active_attempts)
    frontier = []
    for task_id, status in described:
        attempt = active.get(task_id)
        if attempt is not None:
            frontier.append(_explain_attempt(state, attempt, status, contexts[attempt.attempt_id]))
            continue
        if task_id in blocked:
            waits = "dependencies: " + ", ".join(f"{d} ({s})" for d, s in sorted(blocked[task_id]))
        elif run.status == RunStatus.PAUSED:
            waits = "the run is paused (`matterstack resume` to start it)"
        else:
            waits = slots.why_ready_task_waits(ready[task_id])
        frontier.append(Waiting(task_id, status, waits))
    # A note counted again is as recent as its last time.
    recent = sorted(store.run_notes(), key=lambda note: note.last_at)[-RECENT_NOTES:]
    notes = tuple(note.describe() for note in recent) + tuple(_contact_notes(store))
    wiring = wiring_summary(handle, registry.wiring, host=registry.host)
    return Explanation(run.run_id, run.status.value, run.status_reason, tuple(frontier), notes, wiring,
                       dict(sorted(more.items())))


def _explain_attempt(state: TickState, attempt, status: str, context) -> Waiting:
    key = attempt_key(attempt)
    since = attempt.submitted_at or attempt.created_at
    since_text = since.isoformat() if since else None
    if key is None:
        return Waiting(attempt.task_id, status, "nobody: " + stub_words(state.handle.run_id, attempt.task_id), key, since_text)
    if not state.registry.has(key):
        why = state.registry.missing_key_reason(key)
        return Waiting(attempt.task_id, status, f"cannot be polled: {why}", key, since_text)
    try:
        operator = state.registry.get(key)
        words = operator.describe_wait(context)
    except MatterStackError as exc:
        words = f"{attempt.status.value} on {key}; operator unavailable: {exc.one_line()}"
    if since is not None:
        words = f"{words} (for {_age(since)})"
    return Waiting(attempt.task_id, status, words, key, since_text)


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
    if explanation.more:
        counted = ", ".join(f"{count:,} {MORE_WORDS[what]}" for what, count in explanation.more.items())
        lines.append(f"  ... and {sum(explanation.more.values()):,} more unfinished tasks ({counted}): "
                     f"`matterstack explain {explanation.run_id} --json` describes every one")
    for note in explanation.notes:
        lines.append(f"  note: {note}")
    if explanation.wiring:
        lines.extend(f"  {line}" for line in render_summary(explanation.wiring))
    return "\n".join(lines)
