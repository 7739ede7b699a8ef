"""Run control: pause, resume, cancel, revive, rerun, cancel-attempt, and 0.2.x's
reset-run (delete) and cleanup-orphans.

Each takes the run lock like a tick, so it never races a running ``step``. Cancelling
really stops the external work through the attempt's operator; an instance that cannot be
reached leaves its attempts as they were and the command says so, rather than marking work
cancelled that may still be running.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import attrs

from matterstack.core.status import AttemptStatus, RunStatus, TaskStatus
from matterstack.core.transitions import check_run_transition
from matterstack.errors import ConfigError, MatterStackError, OperatorError, WorkflowError
from matterstack.orchestrator.handle import RunHandle
from matterstack.orchestrator.observe import group_by_key
from matterstack.orchestrator.tickstate import TickState


@attrs.frozen
class ControlResult:
    """What a control command changed, in words for the person who typed it."""

    status: RunStatus
    messages: tuple[str, ...] = ()


def _locked(handle: RunHandle):
    from matterstack.store import RunLock, StateStore

    class _Session:
        def __enter__(self):
            self.lock = RunLock(handle.root_path).__enter__()
            try:
                self.store = StateStore.open(handle.db_path)
            except BaseException:
                self.lock.release()
                raise
            return self.store

        def __exit__(self, *exc):
            self.store.close()
            self.lock.__exit__(*exc)

    return _Session()


def _set_run_status(store, new: RunStatus, reason: str) -> None:
    check_run_transition(store.get_run().status, new, reason)
    store.set_run_status(new, reason)


def pause(handle: RunHandle) -> ControlResult:
    """Stop submitting new work; active attempts are still polled and collected."""
    with _locked(handle) as store:
        _set_run_status(store, RunStatus.PAUSED, "paused by user")
        return ControlResult(RunStatus.PAUSED, ("paused: running work goes on, nothing new starts",))


def resume(handle: RunHandle) -> ControlResult:
    """Let a paused run submit again."""
    with _locked(handle) as store:
        _set_run_status(store, RunStatus.RUNNING, "resumed by user")
        return ControlResult(RunStatus.RUNNING, ("resumed",))


def revive(handle: RunHandle, reason: str | None = None) -> ControlResult:
    """Move a finished run back to PENDING so ticks continue it; skipped tasks are looked
    at again."""
    with _locked(handle) as store:
        return _revive(store, reason)


def _revive(store, reason: str | None) -> ControlResult:
    previous = store.get_run().status
    if not previous.is_terminal:
        raise WorkflowError(f"run is {previous.value}, not finished", where=f"run {store.get_run().run_id}",
                            fix="revive only COMPLETED, FAILED or CANCELLED runs")
    store.set_run_status(RunStatus.PENDING, reason or f"revived from {previous.value}")
    deleted = _deleted_task_ids(store)
    skipped = [t for t, s in store.task_statuses().items() if s == TaskStatus.SKIPPED and t not in deleted]
    if skipped:
        store.reset_tasks(skipped, "run revived: dependencies are looked at again")
    return ControlResult(RunStatus.PENDING, (f"revived: {previous.value} → PENDING",))


def cancel(handle: RunHandle, registry) -> ControlResult:
    """Stop every active attempt through its operator, then mark the run CANCELLED."""
    with _locked(handle) as store:
        check_run_transition(store.get_run().status, RunStatus.CANCELLED, "cancelled by user")
        state = TickState(handle=handle, store=store, registry=registry)
        failures = _cancel_attempts(state, store.active_attempts(), "run cancelled by user")
        state.commit(registry.host)
        if failures:
            raise OperatorError(
                "could not stop every attempt: " + "; ".join(failures),
                where=f"run {handle.run_id}",
                fix="run `matterstack cancel` again once the operators are reachable",
            )
        open_tasks = [t for t, s in store.task_statuses().items() if not TaskStatus(s).is_terminal]
        store.set_task_statuses([(t, TaskStatus.CANCELLED, "run cancelled by user") for t in open_tasks])
        _set_run_status(store, RunStatus.CANCELLED, "cancelled by user")
        return ControlResult(RunStatus.CANCELLED, (f"cancelled: {state.finished} attempt(s) stopped",))


def cancel_attempt(handle: RunHandle, registry, attempt_id: str) -> ControlResult:
    """Stop one attempt through its operator and mark it CANCELLED."""
    with _locked(handle) as store:
        attempt = store.get_attempt(attempt_id)
        if attempt.status.is_terminal:
            raise WorkflowError(f"attempt {attempt_id} is already {attempt.status.value}",
                                where=f"run {handle.run_id}", fix="nothing to cancel")
        state = TickState(handle=handle, store=store, registry=registry)
        failures = _cancel_attempts(state, [attempt], "cancelled by user")
        state.commit(registry.host)
        if failures:
            raise OperatorError(failures[0], where=f"run {handle.run_id}",
                                fix="try again once the operator is reachable")
        return ControlResult(store.get_run().status, (f"attempt {attempt_id} cancelled",))


RESOURCE_FLAGS = {"time_limit_minutes": "--time-limit", "cores": "--cores", "memory_gb": "--memory-gb",
                  "gpus": "--gpus"}
"""The task resources a rerun may change, and the ``matterstack rerun`` option for each."""
_RESOURCE_MINIMUM = {"time_limit_minutes": 1, "cores": 1, "memory_gb": 1, "gpus": 0}
_RESOURCE_UNIT = {"time_limit_minutes": "minutes", "cores": "cores", "memory_gb": "GB", "gpus": "GPUs"}


def check_resources(resources: Mapping[str, object]) -> dict[str, int]:
    """The new resources of a rerun, checked: whole numbers (text is read as one), at least
    1 (``gpus`` at least 0); ``None`` values are left out. ConfigError naming the option
    otherwise."""
    checked = {}
    for field, value in resources.items():
        if field not in RESOURCE_FLAGS:
            raise ConfigError(f"{field!r} is not a task resource", where="rerun",
                              fix=f"use one of {', '.join(RESOURCE_FLAGS)}")
        if value is None:
            continue
        least = _RESOURCE_MINIMUM[field]
        number = _whole_number(value)
        if isinstance(number, bool) or not isinstance(number, int) or number < least:
            raise ConfigError(f"{field} must be a whole number of {_RESOURCE_UNIT[field]} >= {least}, got {value!r}",
                              where=f"rerun {RESOURCE_FLAGS[field]}",
                              fix=f"e.g. {RESOURCE_FLAGS[field]} {max(least, 1) * 4}")
        checked[field] = number
    return checked


def _whole_number(value: object) -> object:
    """``value`` as an int when it is text spelling one; otherwise ``value`` itself."""
    if not isinstance(value, str):
        return value
    try:
        return int(value)
    except ValueError:
        return value


def rerun(handle: RunHandle, registry, task_id: str, *, recursive: bool = False,
          force: bool = False, resources: Mapping[str, object] | None = None,
          reason: str = "rerun requested by user") -> ControlResult:
    """Give ``task_id`` (and with ``recursive`` every task depending on it) a new attempt.

    Earlier attempts and their directories stay as they are. A task whose attempt is still
    active is refused unless ``force``, which cancels that attempt first. A finished run is
    revived so the new attempt runs. ``resources`` (``time_limit_minutes``, ``cores``,
    ``memory_gb``, ``gpus``; see :func:`check_resources`) become ``task_id``'s own from its
    next attempt on (dependents keep theirs); the change, its time and reason are recorded
    (``task_resource_changes``, a run note and the task's rerun event). Bad values are
    refused before anything changes. ``reason`` is recorded in the tasks' events.
    """
    from matterstack.store.resources import change_task_resources

    new_resources = check_resources(resources or {})
    with _locked(handle) as store:
        store.get_task(task_id)  # an unknown task is refused before anything changes
        targets = [task_id] + (store.dependents(task_id, transitive=True) if recursive else [])
        messages = []
        active = [a for t in targets for a in store.attempts_for_task(t) if not a.status.is_terminal]
        if active and not force:
            busy = ", ".join(sorted({a.task_id for a in active}))
            raise WorkflowError(f"task(s) {busy} have an active attempt", where=f"run {handle.run_id}",
                                fix="wait for it, or pass --force to cancel it first")
        if active:
            state = TickState(handle=handle, store=store, registry=registry)
            failures = _cancel_attempts(state, active, "cancelled for a forced rerun")
            state.commit(registry.host)
            if failures:
                raise OperatorError("; ".join(failures), where=f"run {handle.run_id}",
                                    fix="try again once the operator is reachable")
        requested = reason
        change = change_task_resources(store, task_id, new_resources, reason) if new_resources else None
        if change is not None:
            reason = f"{reason} with {change.describe()}"
            store.record_run_note(f"rerun of {task_id}: {change.describe()}", at=change.at)
            messages.append(f"resources of {task_id}: {change.describe()}")
        elif new_resources:
            messages.append(f"resources of {task_id}: unchanged")
        if store.get_run().status.is_terminal:
            messages.extend(_revive(store, f"revived to rerun {task_id}").messages)
        store.set_task_statuses([(t, TaskStatus.PENDING, reason if t == task_id else requested)
                                 for t in targets])
        messages.append(f"rerun: {', '.join(targets)} will get a new attempt on the next tick")
        return ControlResult(store.get_run().status, tuple(messages))


DELETED_REASON = "deleted by user (reset-run --action delete)"


def delete_tasks(handle: RunHandle, registry, task_id: str, *, recursive: bool = False) -> ControlResult:
    """Take ``task_id`` (and with ``recursive`` every task depending on it) out of the run:
    MatterStack 0.2.x's ``reset-run --action delete``, without losing history.

    0.2.x deleted the task's row. Here the task stays in the database with its attempts,
    their events and their files: an active attempt is stopped through its operator, the
    task is detached from its current attempt and set SKIPPED with the reason
    :data:`DELETED_REASON` (two task events), and a run note says so. SKIPPED, not CANCELLED:
    the run goes on without the task as 0.2.x's did, where a cancelled task would end it
    CANCELLED. ``analyze`` sees it SKIPPED with no files; ``revive`` leaves it alone (unlike a
    task skipped for a failed dependency) and ``rerun`` brings it back. A dependent left in
    the run is skipped too, its dependency being gone.
    """
    with _locked(handle) as store:
        store.get_task(task_id)  # an unknown task is refused before anything changes
        targets = [task_id] + (store.dependents(task_id, transitive=True) if recursive else [])
        active = [a for t in targets for a in store.attempts_for_task(t) if not a.status.is_terminal]
        if active:
            state = TickState(handle=handle, store=store, registry=registry)
            failures = _cancel_attempts(state, active, DELETED_REASON)
            state.commit(registry.host)
            if failures:
                raise OperatorError("; ".join(failures), where=f"run {handle.run_id}",
                                    fix="try again once the operator is reachable")
        changes = []
        for target, status, attempt in store.tasks_with_current_attempts():
            if target not in targets:
                continue
            # The store lets a task leave its attempt only towards PENDING; a task skipped
            # already passes there too, so its events say it was deleted.
            if attempt is not None:
                changes.append((target, TaskStatus.PENDING, f"{DELETED_REASON}: detached from its attempt"))
            elif status == TaskStatus.SKIPPED:
                changes.append((target, TaskStatus.PENDING, f"{DELETED_REASON}: was skipped"))
            changes.append((target, TaskStatus.SKIPPED, DELETED_REASON))
        store.set_task_statuses(changes)
        store.record_run_note(f"reset-run --action delete: {', '.join(targets)} taken out of the run "
                              "(attempts, events and files kept)")
        run = store.get_run()
        messages = [f"deleted: {', '.join(targets)} (SKIPPED; attempts, events and files kept)"]
        if run.status.is_terminal:
            messages.append(f"the run is {run.status.value}: `matterstack revive {handle.run_id}` continues it "
                            "without them")
        return ControlResult(run.status, tuple(messages))


def _deleted_task_ids(store) -> set[str]:
    """Tasks ``delete_tasks`` took out of the run (their last status change says so)."""
    last = {event.task_id: event for event in store.task_events()}
    return {t for t, event in last.items() if event.to_status == TaskStatus.SKIPPED and event.reason == DELETED_REASON}


def fail_orphans(handle: RunHandle, registry, timeout: timedelta, timeout_text: str) -> list:
    """Mark FAILED_INIT every orphaned attempt of the run (see
    :mod:`matterstack.orchestrator.orphans`), as found under the run lock; return them."""
    from matterstack.orchestrator.orphans import find_orphans

    with _locked(handle) as store:
        state = TickState(handle=handle, store=store, registry=registry)
        orphans = find_orphans(store.active_attempts(), state.now, timeout)
        for attempt in orphans:
            state.transition(attempt, AttemptStatus.FAILED_INIT,
                             f"Orphan cleanup: stuck in CREATED for > {timeout_text}")
        state.commit(registry.host)
        return orphans


def _cancel_attempts(state: TickState, attempts, reason: str) -> list[str]:
    """Ask each instance's operator to stop its attempts (all of an instance's in one
    ``cancel_many``); queue CANCELLED for those it stopped.

    An attempt whose instance is not configured or cannot be built is CANCELLED at once,
    the reason saying nothing was asked to stop it: no later try could reach it. Returns one
    line per attempt that could not be stopped (an instance that cannot be reached now)."""
    failures = []
    for key, group in group_by_key(list(attempts)).items():
        unbuildable = state.registry.build_failure(key) if key and state.registry.has(key) else None
        if unbuildable is not None or (key and not state.registry.has(key)):
            # Nothing here can ever reach that instance: waiting would keep the run for ever.
            why = unbuildable.one_line() if unbuildable is not None else "it is not configured"
            for attempt in group:
                state.transition(attempt, AttemptStatus.CANCELLED,
                                 f"{reason}; operator {key} cannot be built ({why}), so nothing was asked to stop "
                                 f"{attempt.external_id or 'its work'}")
            continue
        try:
            operator = state.registry.get(key) if key else None
            refused = operator.cancel_many(state.contexts(group)) if operator is not None else {}
        except (OperatorError, MatterStackError) as exc:
            refused = {attempt.attempt_id: exc for attempt in group}
        for attempt in group:
            if attempt.attempt_id in refused:
                error = refused[attempt.attempt_id]
                words = error.one_line() if isinstance(error, MatterStackError) else str(error) or type(error).__name__
                failures.append(f"{attempt.task_id} ({key}): {words}")
            else:
                state.transition(attempt, AttemptStatus.CANCELLED, reason)
    return failures