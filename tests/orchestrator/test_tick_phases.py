"""The phases of one tick: gate on the run's status, reconcile attempts a crash left CREATED,
poll once per operator instance, survive transient outages, refuse work for good."""

from __future__ import annotations

import shlex
import uuid

from lifecycle_kit import Campaignish
from process_watch import wait_for

from matterstack import Task
from matterstack.backends import local_jobs
from matterstack.core.records import Attempt
from matterstack.core.status import AttemptStatus, RunStatus
from matterstack.errors import PermanentOperatorError, TransientOperatorError
from matterstack.orchestrator.explain import explain
from matterstack.orchestrator.tickstate import TickState
from matterstack.store import StateStore


def test_first_tick_moves_a_pending_run_to_running(start_run, world):
    # given a new run whose only task stays submitted
    world.default = None
    run = start_run(Campaignish([Task(task_id="t1")]))
    assert run.run().status == RunStatus.PENDING
    # when it is ticked once
    report = run.tick()
    # then it is RUNNING, its task submitted, and the change is recorded with a reason
    assert report.status == RunStatus.RUNNING
    assert report.submitted == 1
    with run.store() as store:
        assert [(e.from_status, e.to_status) for e in store.run_events()][-1] == (RunStatus.PENDING, RunStatus.RUNNING)


def test_finished_run_returns_at_once_without_calling_anyone(start_run, world):
    # given a run already COMPLETED with a task that never ran
    campaign = Campaignish([Task(task_id="t1")])
    run = start_run(campaign)
    with StateStore.open(run.handle.db_path) as store:
        store.set_run_status(RunStatus.COMPLETED, "finished elsewhere")
    # when it is ticked
    report = run.tick()
    # then nothing happened: no submission, no poll, no analysis
    assert report.status == RunStatus.COMPLETED
    assert (report.submitted, report.finished, report.planned) == (0, 0, 0)
    assert world.submitted == [] and world.poll_calls == [] and campaign.analyzed == []
    assert run.attempts("t1") == []


def _marker_task(tmp_path, task_id="t1"):
    marker = tmp_path / f"{task_id}.runs"
    return marker, Task(task_id=task_id, command=f"echo ran >> {shlex.quote(str(marker))}")


def _commit_created_attempt(run, task_id: str, key: str = "local.default") -> Attempt:
    """What a crash between 'record the attempt' and 'record the external id' leaves."""
    attempt_id = str(uuid.uuid4())
    attempt = Attempt(attempt_id=attempt_id, task_id=task_id, run_id=run.handle.run_id, attempt_index=1,
                      operator_key=key, relative_path=f"tasks/{task_id}/attempts/{attempt_id}")
    with StateStore.open(run.handle.db_path) as store:
        store.add_attempts([attempt])
    return attempt


def _launch(run, attempt):
    """Submit the attempt's job to the outside world, as the crashed tick did."""
    with StateStore.open(run.handle.db_path, readonly=True) as store:
        context = TickState(handle=run.handle, store=store, registry=run.registry).contexts([attempt])[0]
    operator = run.registry.get(attempt.operator_key)
    operator.prepare(context)
    operator.submit(context)
    return context


def test_reconcile_adopts_a_created_attempt_whose_job_exists(tmp_path, start_run, bare_host):
    # given an attempt left CREATED whose job was launched before the crash
    marker, task = _marker_task(tmp_path)
    run = start_run(Campaignish([task]), "local.default", host_=bare_host)
    attempt = _commit_created_attempt(run, "t1")
    context = _launch(run, attempt)
    wait_for(lambda: local_jobs.was_launched(context.attempt_dir), what="the job to claim its work directory")
    # when the run is ticked to the end
    status = run.tick_until_done(interval=0.02)
    # then the job was adopted, not started again: one attempt, same token, one execution
    assert status == RunStatus.COMPLETED, run.attempts("t1")
    (only,) = run.attempts("t1")
    assert only.attempt_id == attempt.attempt_id and only.external_id == attempt.attempt_id
    with run.store() as store:
        reasons = [e.reason for e in store.attempt_events(attempt.attempt_id)]
    assert any("found by its token" in r for r in reasons)
    assert marker.read_text().splitlines() == ["ran"]


def test_reconcile_resubmits_a_created_attempt_with_the_same_token(tmp_path, start_run, bare_host):
    # given an attempt left CREATED whose job was never launched
    marker, task = _marker_task(tmp_path)
    run = start_run(Campaignish([task]), "local.default", host_=bare_host)
    attempt = _commit_created_attempt(run, "t1")
    # when the run is ticked to the end
    status = run.tick_until_done(interval=0.02)
    # then the same attempt was submitted (same token) and the command ran exactly once
    assert status == RunStatus.COMPLETED, run.attempts("t1")
    (only,) = run.attempts("t1")
    assert only.attempt_id == attempt.attempt_id and only.status == AttemptStatus.COMPLETED
    assert marker.read_text().splitlines() == ["ran"]


def test_resubmitting_a_job_that_already_ran_runs_nothing_new(tmp_path, start_run, bare_host):
    # given an attempt left CREATED whose job was launched, and a reconcile that misses it
    # (the wrapper had not claimed the work directory yet): it is submitted a second time
    marker, task = _marker_task(tmp_path)
    run = start_run(Campaignish([task]), "local.default", host_=bare_host)
    attempt = _commit_created_attempt(run, "t1")
    context = _launch(run, attempt)
    _launch(run, attempt)
    # when the run is ticked to the end
    assert run.tick_until_done(interval=0.02) == RunStatus.COMPLETED
    # then the command still ran once
    wait_for(lambda: (context.attempt_dir / local_jobs.EXIT_CODE_FILE).exists())
    assert marker.read_text().splitlines() == ["ran"]


def test_poll_calls_each_operator_instance_once_per_tick(start_run, world):
    # given four submitted attempts on two instances of one kind
    world.default = None
    tasks = [Task(task_id=f"{key}{i}", operator_key=f"scripted.{key}") for key in "ab" for i in (1, 2)]
    run = start_run(Campaignish(tasks), "scripted.a", "scripted.b")
    assert run.tick().submitted == 4
    # when the run is ticked twice more (attempts finish on the second)
    run.tick()
    world.default = AttemptStatus.COMPLETED
    report = run.tick()
    # then each tick asked each instance once, about all of its attempts at once
    assert world.polls_by_key() == {"scripted.a": 2, "scripted.b": 2}
    assert all(len(ids) == 2 for _, ids in world.poll_calls)
    assert report.finished == 4
    assert set(run.statuses().values()) == {"COMPLETED"}


def test_an_operator_reading_tasks_from_its_own_threads_while_polling_gets_them(start_run, world):
    # given two submitted attempts whose outcomes depend on their tasks, polled from worker threads
    world.default = None
    run = start_run(Campaignish([Task(task_id="good"), Task(task_id="bad")]))
    run.tick()
    world.poll_in_worker_threads = True
    world.task_outcomes = {"good": AttemptStatus.COMPLETED, "bad": AttemptStatus.FAILED}

    # when
    run.tick()

    # then each attempt ended as its own task says
    assert run.attempt("good").status == AttemptStatus.COMPLETED
    assert run.attempt("bad").status == AttemptStatus.FAILED


def test_transient_poll_error_changes_nothing_and_is_explained(start_run, world):
    # given a submitted attempt whose instance answered once, then becomes unreachable
    world.default = None
    run = start_run(Campaignish([Task(task_id="t1")]), "scripted.a")
    run.tick()
    run.tick()
    with run.store() as store:
        last_ok = store.operator_contacts()["scripted.a"].last_ok_at
        events_before = store.attempt_events()
    world.default = AttemptStatus.COMPLETED
    world.poll_errors["scripted.a"] = TransientOperatorError("connection reset by login.cluster.edu")
    # when the run is ticked during the outage
    report = run.tick()
    # then nothing changed, and both the tick and explain say why and since when
    assert report.status == RunStatus.RUNNING and report.finished == 0
    assert any("scripted.a" in n and "connection reset" in n for n in report.notes)
    with run.store() as store:
        assert store.attempt_events() == events_before
        assert run.attempt("t1").status == AttemptStatus.SUBMITTED
        notes = explain(run.handle, store, run.registry).notes
    assert any("connection reset" in n and f"last successful contact: {last_ok.isoformat()}" in n for n in notes)
    # and once the instance answers again the run finishes
    del world.poll_errors["scripted.a"]
    assert run.tick_until_done() == RunStatus.COMPLETED


def test_transient_submit_error_leaves_the_attempt_for_the_next_tick(start_run, world):
    # given an instance that cannot be reached at submission time
    world.submit_errors["t1"] = TransientOperatorError("sbatch: Socket timed out")
    run = start_run(Campaignish([Task(task_id="t1")]))
    # when the run is ticked
    report = run.tick()
    # then the attempt waits, CREATED, and the next tick submits it with the same token
    assert any("Socket timed out" in n for n in report.notes)
    (attempt,) = run.attempts("t1")
    assert attempt.status == AttemptStatus.CREATED
    del world.submit_errors["t1"]
    assert run.tick_until_done() == RunStatus.COMPLETED
    assert [a.attempt_id for a in run.attempts("t1")] == [attempt.attempt_id]


def test_permanent_submit_error_fails_the_attempt_at_init(start_run, world):
    # given an instance that refuses the task for good
    world.submit_errors["t1"] = PermanentOperatorError("partition 'gpu' does not exist", fix="use partition normal")
    run = start_run(Campaignish([Task(task_id="t1")]))
    # when the run is ticked
    status = run.tick().status
    # then the attempt is FAILED_INIT with the operator's message, and the run fails naming the task
    attempt = run.attempt("t1")
    assert attempt.status == AttemptStatus.FAILED_INIT
    assert "partition 'gpu' does not exist" in attempt.status_reason
    assert status == RunStatus.FAILED
    assert "t1" in run.run().status_reason
