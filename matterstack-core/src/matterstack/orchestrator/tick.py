"""The tick: one short, stateless pass that moves a run forward, then returns.

Phases (see the runs design): open and lock → gate on the run's status → reconcile attempts
an earlier crash left CREATED → poll every active attempt (one call per operator instance)
and collect the finished ones → skip tasks whose dependencies failed → submit ready tasks
within the limits → when nothing is active or ready, analyze and plan the next iteration.
Every phase commits its own short transaction, so a crash anywhere loses at most the phase
in flight, and the next tick picks up from what was recorded.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import attrs

from matterstack.core.status import AttemptStatus, RunStatus
from matterstack.core.workflow import anchor_file_sources
from matterstack.atomic_write import write_atomic
from matterstack.orchestrator.handle import RunHandle
from matterstack.orchestrator.legacy_config import read_legacy_config
from matterstack.orchestrator.observe import poll_active, reconcile_created
from matterstack.orchestrator.schedule import skip_blocked, start_ready, submit_created
from matterstack.orchestrator.tickstate import TickState

if TYPE_CHECKING:
    from matterstack.core.campaign import Campaign
    from matterstack.orchestrator.operator_registry import OperatorRegistry
    from matterstack.store import StateStore


@attrs.frozen
class TickReport:
    """What one tick did, for ``step``'s output and for tests."""

    run_id: str
    status: RunStatus
    submitted: int = 0
    finished: int = 0
    planned: int = 0
    notes: tuple[str, ...] = ()


PENDING_STATE_FILE = "campaign_state.pending.json"


def tick(handle: RunHandle, campaign: Campaign, store: StateStore, registry: OperatorRegistry) -> TickReport:
    """Run one tick on an open store whose run lock the caller holds."""
    legacy = read_legacy_config(handle.root_path)  # first: a bad file stops the tick before any write
    run = store.get_run()
    settle_campaign_state(handle, store)
    if run.status.is_terminal:
        return TickReport(run.run_id, run.status)
    # Only a process holding the run lock changes the run's status (control commands take it
    # too), so within this tick it changes only where the tick changes it.
    status = run.status
    if status == RunStatus.PENDING:
        store.set_run_status(RunStatus.RUNNING, "first tick")
        status = RunStatus.RUNNING
    state = TickState(handle=handle, store=store, registry=registry, legacy=legacy,
                      in_job_view=store.holds_external_runs())
    host = registry.host

    active = store.active_attempts()
    created = [a for a in active if a.status == AttemptStatus.CREATED]
    resubmit = reconcile_created(state, created)
    state.commit(host)
    submit_created(state, resubmit)
    state.commit(host)

    poll_active(state, [a for a in active if a.status != AttemptStatus.CREATED])
    state.commit(host)

    planned = 0
    startable = skip_blocked(state)
    if status != RunStatus.PAUSED:
        if state.in_job_view and startable:
            from matterstack.orchestrator.job_view import refresh_job_view

            refresh_job_view(handle.root_path, store)
        new = start_ready(state, startable, store.active_attempt_counts() if startable else {})
        submit_created(state, new, {task.task_id: task for task in startable})
        state.commit(host)
        if not store.has_active_attempts() and not store.ready_tasks(limit=1):
            planned = _analyze_and_plan(handle, campaign, store, state)
            status = store.run_status()
    return TickReport(
        run_id=handle.run_id,
        status=status,
        submitted=state.submitted,
        finished=state.finished,
        planned=planned,
        notes=tuple(state.notes),
    )


def _analyze_and_plan(handle: RunHandle, campaign: Campaign, store: StateStore, state: TickState) -> int:
    """Nothing is active or ready: end the run if a task failed or was cancelled, else let
    the campaign analyze and plan.

    A campaign that raises leaves the run RUNNING with the error recorded, and the next tick
    tries again, so fixing ``main.py`` resumes the run; the same error on consecutive ticks
    fails it (see :mod:`~matterstack.orchestrator.campaign_errors`). A state ``analyze``
    returned that cannot be saved fails the run at once: trying again gives the same state.
    """
    # Imported here: nearly every tick of a big run only polls, and a step is a process of its own.
    from matterstack.core.campaign_state import CampaignStateError, campaign_state_text
    from matterstack.orchestrator.campaign_errors import end_campaign_error_streak, record_campaign_error
    from matterstack.orchestrator.planning import campaign_results, check_workflow

    ended = _iteration_cut_short(handle, store)
    if ended is not None:
        store.set_run_status(*ended)
        return 0
    results = campaign_results(store, handle.root_path)
    try:
        new_state = campaign.analyze(handle.read_campaign_state(), results)
    except Exception as exc:  # the user's code: any exception is theirs to fix
        state.note(record_campaign_error(handle, store, "analyze", exc))
        return 0
    try:
        state_text = campaign_state_text(new_state)
    except CampaignStateError as exc:
        end_campaign_error_streak(handle)
        store.set_run_status(RunStatus.FAILED, exc.one_line())
        state.note(f"the run is FAILED: {exc.one_line()}")
        return 0
    try:
        workflow = campaign.plan(new_state)  # what analyze returned, as 0.2.x passed it
        tasks = check_workflow(store, workflow) if workflow is not None else []
    except Exception as exc:
        state.note(record_campaign_error(handle, store, "plan", exc))
        return 0
    end_campaign_error_streak(handle)
    # The iteration is kept only now that analyze and plan both succeeded. The new state and
    # what plan made of it (new tasks, or the end of the run) are kept together or not at
    # all: the state waits in a pending file until the database holds the rest, so a crash
    # in between analyzes the same results from the same state again.
    write_atomic(handle.root_path / PENDING_STATE_FILE, json.dumps({
        "state_text": state_text, "tasks_before": _task_count(store), "completes": workflow is None}))
    if workflow is None:
        store.set_run_status(RunStatus.COMPLETED, "plan returned None: the campaign is done")
    else:
        store.add_tasks(anchor_file_sources(tasks, handle.workspace_path))
    settle_campaign_state(handle, store)
    return len(tasks)


def settle_campaign_state(handle: RunHandle, store: StateStore) -> None:
    """Finish or undo an iteration's change of ``campaign_state.json`` left pending by a
    crash: keep the new state if the database recorded what was planned from it (more tasks,
    or the completed run), else drop it."""
    path = handle.root_path / PENDING_STATE_FILE
    try:
        pending = json.loads(path.read_text())
    except FileNotFoundError:
        return
    recorded = _task_count(store) > pending["tasks_before"] or (
        pending["completes"] and store.get_run().status == RunStatus.COMPLETED)
    if recorded:
        # A pending file of an earlier version holds the state itself, not its text.
        text = pending["state_text"] if "state_text" in pending else json.dumps(pending["state"])
        handle.write_campaign_state(text)
        if not pending["completes"]:
            from matterstack.orchestrator.iterations import record_iteration

            record_iteration(handle.root_path, pending["tasks_before"])
    path.unlink()


def _task_count(store: StateStore) -> int:
    return sum(store.count_tasks_by_status().values())


def _iteration_cut_short(handle: RunHandle, store: StateStore) -> tuple[RunStatus, str] | None:
    """The run's end when a task of the iteration failed or was cancelled (without
    ``allow_failure``): FAILED if one failed, CANCELLED if they were only cancelled. Either
    way ``analyze`` is not called: it sees only iterations whose tasks all ran, as in 0.2.x."""
    failed = store.failed_task_ids(blocking_only=True)
    cancelled = store.cancelled_task_ids(blocking_only=True)
    if failed:
        also = f"; cancelled: {', '.join(cancelled)}" if cancelled else ""
        return RunStatus.FAILED, (f"tasks failed: {', '.join(failed)}{also} (fix: see `matterstack explain`, "
                                  f"then `matterstack rerun` and `matterstack revive`)")
    if cancelled:
        return RunStatus.CANCELLED, (
            f"tasks cancelled: {', '.join(cancelled)} (fix: `matterstack rerun {handle.run_id} "
            f"{cancelled[0]}` runs one again and revives the run)")
    return None

