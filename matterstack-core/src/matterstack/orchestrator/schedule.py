"""Tick phases that start work: pick the ready tasks, skip those whose dependencies failed,
route each to an operator key, and submit within the concurrency limits.

Exactly-once submission: a new attempt, carrying its token, is committed to the database
*before* its operator is called. A crash after that leaves the attempt CREATED, and the next
tick's reconcile phase asks the operator whether the work exists instead of submitting blind.
"""

from __future__ import annotations

import errno
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Union

import attrs

from matterstack.core.operator_key import OPERATOR_ENV_VAR, RoutedOperatorKey, route_new_task
from matterstack.core.records import Attempt
from matterstack.core.status import AttemptStatus, TaskStatus
from matterstack.core.transitions import dependency_outcome
from matterstack.errors import BackPressureError, MatterStackError, PermanentOperatorError, TransientOperatorError
from matterstack.orchestrator.attempt_names import AttemptNames, attempt_path
from matterstack.orchestrator.back_pressure import record_waiting, without_back_pressure
from matterstack.orchestrator.legacy_config import LegacyRunConfig
from matterstack.orchestrator.observe import group_by_key, usable_operator
from matterstack.orchestrator.operator_registry import unbuildable_reason
from matterstack.orchestrator.tickstate import TickState

if TYPE_CHECKING:
    from matterstack.core.workflow import Task
    from matterstack.orchestrator.operator_registry import OperatorRegistry
    from matterstack.plugins.interfaces import AttemptContext, Operator, SubmitResult
    from matterstack.wiring.model import Wiring

    Outcome = Union[SubmitResult, TransientOperatorError, PermanentOperatorError, "_Unsubmitted"]
    """What one submission came to: the result, the operator error it raised, or what else."""


def skip_blocked(state: TickState) -> list[Task]:
    """Mark SKIPPED every ready task whose dependency failed (unless it allows that),
    repeating until no more are skipped; return the tasks that may start."""
    while True:
        ready = state.store.ready_tasks()
        dep_ids = sorted({d for task in ready for d in task.dependencies})
        dep_status = state.store.task_statuses(dep_ids) if dep_ids else {}
        startable, skips = [], []
        for task in ready:
            statuses = [TaskStatus(dep_status[d]) for d in task.dependencies if d in dep_status]
            outcome = dependency_outcome(statuses, task.allow_dependency_failure)
            if outcome == "skip":
                failed = sorted(d for d in task.dependencies
                                if d in dep_status and dep_status[d] != TaskStatus.COMPLETED)
                skips.append((task.task_id, TaskStatus.SKIPPED,
                              f"dependency {', '.join(failed)} did not complete"))
            elif outcome == "ready":
                startable.append(task)
        if not skips:
            return startable
        state.store.set_task_statuses(skips)


def start_ready(state: TickState, tasks: list[Task], active: Mapping[str | None, int]) -> list[Attempt]:
    """Create one attempt per task that routing and the limits allow; return those to submit.

    ``active`` counts the attempts already active by operator key
    (:meth:`~matterstack.store.StateStore.active_attempt_counts`). Attempts that cannot run
    anywhere (bad or unknown key, an operator its plugin cannot build) are recorded
    FAILED_INIT with the reason, in the same transaction. A task naming no operator in a run
    whose 0.2.x ``config.json`` says
    Simulation is marked COMPLETED without an attempt, as 0.2.x did.
    """
    wiring = state.registry.wiring
    legacy = state.legacy
    default = untagged_key(wiring, legacy)
    per_key = Counter(active)
    total = sum(active.values())
    slots = state.store.next_attempt_slots([task.task_id for task in tasks]) if tasks else {}
    names = AttemptNames(state.store, state.now, {task_id: latest for task_id, (_, latest) in slots.items()},
                         state.in_job_view)
    routes: dict[tuple, RoutedOperatorKey] = {}  # the routing inputs a task has → where they lead
    created, refused, simulated = [], [], []
    for task in tasks:
        if wiring.max_concurrent is not None and total >= wiring.max_concurrent:
            break
        route = (task.operator_key, task.env.get(OPERATOR_ENV_VAR), task.default_operator_key)
        routed = routes.get(route)
        if routed is None:
            try:
                routed = routes[route] = route_new_task(task, default)
            except MatterStackError as exc:
                refused.append(_new_attempt(state, task, slots, names, None, exc.one_line()))
                continue
        if routed.source == "default" and legacy is not None and legacy.simulates:
            simulated.append(task.task_id)
            continue
        key = routed.key
        if not state.registry.has(key):
            refused.append(_new_attempt(state, task, slots, names, key, state.registry.missing_key_reason(key)))
            continue
        unbuildable = state.registry.build_failure(key)
        if unbuildable is not None:
            refused.append(_new_attempt(state, task, slots, names, key, unbuildable_reason(key, unbuildable)))
            continue
        limit, _ = key_limit(state.registry, legacy, key)
        if limit is not None and per_key[key] >= limit:
            continue
        per_key[key] += 1
        total += 1
        created.append(_new_attempt(state, task, slots, names, key, None))
    new = created + [attempt for attempt, _ in refused]
    renamed = names.settled(new) if new else {}
    if renamed:
        created = [renamed.get(a.attempt_id, a) for a in created]
        refused = [(renamed.get(a.attempt_id, a), reason) for a, reason in refused]
        new = created + [attempt for attempt, _ in refused]
    if new:
        host = state.registry.host
        for event in state.store.add_attempts(new):  # creations are transitions too (from None)
            host.notify_attempt_transition(event)
        for attempt, reason in refused:
            state.transition(attempt, AttemptStatus.FAILED_INIT, reason)
        state.commit(state.registry.host)
    if simulated:
        _simulate(state, simulated)
    return created


def untagged_key(wiring: Wiring, legacy: LegacyRunConfig | None) -> str:
    """Where a task naming no operator goes: the run's 0.2.x ``config.json`` execution_mode
    when it has one that names a key, else the wiring's default."""
    if legacy is not None and legacy.untagged_key is not None:
        return legacy.untagged_key
    return wiring.default_operator


def key_limit(registry: OperatorRegistry, legacy: LegacyRunConfig | None, key: str) -> tuple[int | None, str]:
    """The most attempts of ``key`` active at once, and where that cap comes from:
    operators.yaml's ``max_concurrent``, else the run's 0.2.x ``config.json``; (None, "")
    when neither caps it."""
    limit = registry.max_concurrent(key)
    if limit is not None:
        return limit, f"operators.yaml max_concurrent of {key}"
    if legacy is not None:
        return legacy.max_jobs_per_key, legacy.cap_reason()
    return None, ""


def _simulate(state: TickState, task_ids: list[str]) -> None:
    """Complete tasks without running them, with the reason in their events and a run note."""
    reason = state.legacy.simulation_reason()
    state.store.set_task_statuses([(task_id, TaskStatus.COMPLETED, reason) for task_id in task_ids])
    text = f"{', '.join(task_ids)}: {reason}"
    state.store.record_run_note(text, at=state.now)
    state.note(text)
    state.finished += len(task_ids)


def _new_attempt(state: TickState, task: Task, slots: Mapping[str, tuple[int, str | None]], names: AttemptNames,
                 key: str | None, refusal: str | None) -> Attempt | tuple[Attempt, str]:
    attempt_id = names.new(task.task_id)
    attempt = Attempt(
        attempt_id=attempt_id,
        task_id=task.task_id,
        run_id=state.handle.run_id,
        attempt_index=slots[task.task_id][0],
        status=AttemptStatus.CREATED,
        operator_key=key,
        relative_path=attempt_path(task.task_id, attempt_id, state.in_job_view),
        created_at=state.now,
    )
    return attempt if refusal is None else (attempt, refusal)


def submit_created(state: TickState, attempts: list[Attempt], tasks: Mapping[str, Task] | None = None) -> None:
    """Prepare and submit attempts already committed as CREATED (``tasks``: their tasks by
    id, when the caller has them already; the others are read).

    An operator whose ``parallel_submissions`` attribute is above 1 (the local operator: its
    prepare and submit are file creations and a process spawn, which wait on the disk and the
    kernel, not on Python) gets that many of its attempts prepared and submitted at once from
    worker threads; the outcomes are recorded here, in the attempts' order, as if submitted
    one by one. Every other operator is called for one attempt at a time.

    One attempt's trouble stays its own: ``prepare`` raising anything but an operator error
    (a name the file system refuses, a file key that is also a folder) fails that attempt
    FAILED_INIT with the reason; a full disk (ENOSPC, EDQUOT) while preparing or submitting
    leaves it CREATED for the next tick, with a run note; an instance refusing more work for
    now (:mod:`~matterstack.orchestrator.back_pressure`) gets no more submissions this tick
    and its attempts wait CREATED with the reason; anything else ``submit`` raises
    leaves it CREATED too, and the next tick's reconcile asks the operator, by token, whether
    it was submitted. The tick goes on to poll and collect the others.
    """
    contexts = {c.attempt_id: c for c in state.contexts(attempts, known=tasks)}
    for key, group in group_by_key(attempts).items():  # a legacy attempt may carry its key in operator_data only
        operator = usable_operator(state, key, group)
        if operator is None:
            continue
        workers = min(getattr(operator, "parallel_submissions", 1), len(group))
        outcomes = _Outcomes(state, key)
        if workers > 1:
            group_contexts = [contexts[a.attempt_id] for a in group]
            submitted = _after_disk_full_one_at_a_time(
                operator, group_contexts, _submissions(operator, group_contexts, workers))
            for attempt, outcome in zip(group, submitted):
                outcomes.take(attempt, outcome)
        else:
            _submit_as_answered(operator, group, [contexts[a.attempt_id] for a in group], outcomes)
        outcomes.finish()


@attrs.define
class _Outcomes:
    """Records each submission outcome of one key as it comes: a submitted (or failed)
    attempt is committed at once, so a tick killed midway keeps what it did; attempts waiting
    for disk space or behind a refusal are said together at the end."""

    state: TickState
    key: str
    disk_full: list[tuple[Attempt, _Unsubmitted]] = attrs.field(factory=list)
    refused: list[tuple[Attempt, BackPressureError]] = attrs.field(factory=list)

    def take(self, attempt: Attempt, outcome: Outcome) -> None:
        if isinstance(outcome, _Unsubmitted) and outcome.disk_full:
            self.disk_full.append((attempt, outcome))
        elif isinstance(outcome, BackPressureError):
            self.refused.append((attempt, outcome))
        else:
            _record_submission(self.state, self.key, attempt, outcome)
            self.state.commit(self.state.registry.host)

    def finish(self) -> None:
        if self.disk_full:
            _note_disk_full(self.state, self.key, self.disk_full)
        if self.refused:
            record_waiting(self.state, self.key, self.refused)


def _submit_as_answered(operator: Operator, group: list[Attempt], contexts: list[AttemptContext],
                        outcomes: _Outcomes) -> None:
    """Prepare each attempt, then hand the prepared ones to ``operator.submit_many`` in one
    call (a batching backend stages and submits them in a few round trips), recording each
    outcome as the operator answers it."""
    unanswered: dict[str, Attempt] = {}
    prepared = []
    for attempt, context in zip(group, contexts):
        try:
            operator.prepare(context)
        except (TransientOperatorError, PermanentOperatorError) as exc:
            outcomes.take(attempt, exc)
            continue
        except Exception as exc:  # one attempt's failure must not stop the tick for every other
            outcomes.take(attempt, _Unsubmitted("prepare", exc))
            continue
        unanswered[attempt.attempt_id] = attempt
        prepared.append(context)

    def answer(attempt_id: str, outcome: SubmitResult | Exception) -> None:
        attempt = unanswered.pop(attempt_id, None)
        if attempt is None:
            return
        if isinstance(outcome, Exception) and not isinstance(outcome, (TransientOperatorError, PermanentOperatorError)):
            outcome = _Unsubmitted("submit", outcome)
        outcomes.take(attempt, outcome)

    if not prepared:
        return
    try:
        operator.submit_many(prepared, answer)
    except TransientOperatorError as exc:
        if unanswered:
            outcomes.state.outage(outcomes.key, exc, len(unanswered))
    except Exception as exc:  # the batch as a whole failed: its unanswered attempts stay CREATED
        for attempt in list(unanswered.values()):
            answer(attempt.attempt_id, exc)


@attrs.frozen
class _Unsubmitted:
    """``prepare`` or ``submit`` (``stage``) raised ``error``, which is not an operator error."""

    stage: str
    error: BaseException

    @property
    def disk_full(self) -> bool:
        return isinstance(self.error, OSError) and self.error.errno in (errno.ENOSPC, errno.EDQUOT)

    def words(self) -> str:
        error = self.error
        if isinstance(error, OSError) and error.strerror:
            what = f"{type(error).__name__}: {error.strerror}"
            return what + (f" ({_shown_path(error.filename)})" if error.filename else "")
        return " ".join(f"{type(error).__name__}: {error}".split())


def _shown_path(path: object, limit: int = 120) -> str:
    text = str(path)
    return text if len(text) <= limit else f"{text[:limit // 2]}...{text[-limit // 2:]}"


def _submit_one(operator: Operator, context: AttemptContext) -> Outcome:
    """``prepare`` then ``submit``; the result, the operator error it raised, or what else
    it raised as :class:`_Unsubmitted`."""
    stage = "prepare"
    try:
        operator.prepare(context)
        stage = "submit"
        return operator.submit(context)
    except (TransientOperatorError, PermanentOperatorError) as exc:
        return exc
    except Exception as exc:  # one attempt's failure must not stop the tick for every other
        return _Unsubmitted(stage, exc)


def _note_disk_full(state: TickState, key: str, attempts: list[tuple[Attempt, _Unsubmitted]]) -> None:
    """Attempts a full disk kept from being prepared or submitted stay CREATED: the next tick
    tries them again. Said once in the tick's notes and once in the run's notes (not again
    while the same attempts wait for space)."""
    ids = ", ".join(attempt.task_id for attempt, _ in attempts)
    first = attempts[0][1]
    doing = "preparing" if first.stage == "prepare" else "submitting"
    text = (f"{ids}: {first.words()} while {doing} on {key}; left for the next tick "
            f"(fix: free space on the disk of {state.handle.root_path})")
    state.note(text)
    notes = state.store.run_notes()
    if not notes or notes[-1].text != text:
        state.store.record_run_note(text, at=state.now)


def _after_disk_full_one_at_a_time(operator: Operator, contexts: list[AttemptContext],
                                   outcomes: list[Outcome]) -> list[Outcome]:
    """Concurrent preparations share the disk: an input too large for it fills it while the
    others write theirs, and they all fail for want of space. Those that did are prepared again
    one at a time (a failed copy is removed by then), so one task too big for the disk never
    keeps the others from starting; what still fails waits for the next tick."""
    again = [i for i, outcome in enumerate(outcomes)
             if isinstance(outcome, _Unsubmitted) and outcome.disk_full and outcome.stage == "prepare"]
    if not again:
        return outcomes
    outcomes = list(outcomes)
    for i in again:
        outcomes[i] = _submit_one(operator, contexts[i])
    return outcomes


def _submissions(operator: Operator, contexts: list[AttemptContext], workers: int) -> list[Outcome]:
    from concurrent.futures import ThreadPoolExecutor  # ~5 ms with logging: only when submitting

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="matterstack-submit") as pool:
        return list(pool.map(lambda context: _submit_one(operator, context), contexts))


def _record_submission(state: TickState, key: str, attempt: Attempt, outcome: Outcome) -> None:
    if isinstance(outcome, _Unsubmitted):
        if outcome.stage == "prepare":
            state.transition(attempt, AttemptStatus.FAILED_INIT, f"preparing it failed: {outcome.words()}")
        else:
            state.note(f"{attempt.task_id}: submitting to {key} raised {outcome.words()}; the next tick asks "
                       f"{key} whether it was submitted and submits it again if not")
        return
    if isinstance(outcome, TransientOperatorError):
        state.outage(key, outcome, 1)
        return
    if isinstance(outcome, PermanentOperatorError):
        state.transition(attempt, AttemptStatus.FAILED_INIT, outcome.one_line())
        return
    data = without_back_pressure({**attempt.operator_data, **dict(outcome.operator_data)})
    status = AttemptStatus(outcome.status)
    reason = outcome.reason or f"submitted to {key}"
    state.transition(attempt, status, reason, external_id=outcome.external_id, operator_data=data)
    state.submitted += 1
    if status.is_terminal:  # finished without running anywhere (a dry run): say so in explain
        state.store.record_run_note(f"{attempt.task_id}: {reason}", at=state.now)
