"""Back-pressure: an instance that takes no more jobs from the user for now is asked once per
tick, its attempts wait CREATED with the reason (recorded once), nothing fails, the tick goes
on to poll and collect, and the next tick tries again."""

from __future__ import annotations

from lifecycle_kit import Campaignish

from matterstack import Task
from matterstack.core.status import AttemptStatus, RunStatus
from matterstack.errors import BackPressureError
from matterstack.orchestrator.back_pressure import BACK_PRESSURE

REFUSAL = BackPressureError("the cluster takes no more jobs from you for now (a cap on queued jobs)",
                            fix="none needed: the next tick submits it again")


class AskedErrors(dict):
    """Submit errors by task id that remember which tasks the operator was asked to submit."""

    def __init__(self, *args):
        super().__init__(*args)
        self.asked: list[str] = []

    def get(self, task_id, default=None):
        self.asked.append(task_id)
        return super().get(task_id, default)


def test_an_instance_refusing_more_jobs_for_now_is_asked_once_per_tick_and_no_attempt_fails(start_run, world):
    # given an instance that refuses every submission for now
    tasks = [Task(task_id=f"t{i}") for i in range(1, 6)]
    world.submit_errors = AskedErrors({task.task_id: REFUSAL for task in tasks})
    run = start_run(Campaignish(tasks))
    # when the run is ticked
    report = run.tick()
    # then the instance was asked for one job only, and every attempt waits CREATED with the reason
    assert world.submit_errors.asked == ["t1"]
    assert report.status == RunStatus.RUNNING and report.finished == 0
    assert any(note.startswith("scripted.default: 5 attempt(s) wait to be submitted: the cluster takes no more jobs")
               for note in report.notes)
    for task in tasks:
        attempt = run.attempt(task.task_id)
        assert attempt.status == AttemptStatus.CREATED
        assert attempt.status_reason.startswith("waits to be submitted: the cluster takes no more jobs")
        assert attempt.operator_data[BACK_PRESSURE] == REFUSAL.what
    # and it is not an outage: the instance answered
    with run.store() as store:
        contact = store.operator_contacts()["scripted.default"]
    assert contact.last_error_at is None and contact.last_ok_at is not None


def test_a_refusal_that_repeats_is_recorded_once_and_the_next_tick_submits_the_same_attempts(start_run, world):
    # given a run whose attempts wait behind a refusal
    tasks = [Task(task_id=f"t{i}") for i in range(1, 4)]
    world.submit_errors = AskedErrors({task.task_id: REFUSAL for task in tasks})
    run = start_run(Campaignish(tasks))
    run.tick()
    waiting = {task.task_id: run.attempt(task.task_id).attempt_id for task in tasks}
    with run.store() as store:
        events_before = store.attempt_events()
    # when a second tick meets the same refusal
    world.submit_errors.asked.clear()
    run.tick()
    # then it asked once again and recorded nothing new
    assert world.submit_errors.asked == ["t1"]
    with run.store() as store:
        assert store.attempt_events() == events_before
    # when the instance takes jobs again
    world.submit_errors = {}
    # then the run completes with the same attempts, none FAILED, none carrying the refusal
    assert run.tick_until_done() == RunStatus.COMPLETED
    for task in tasks:
        (attempt,) = run.attempts(task.task_id)
        assert attempt.attempt_id == waiting[task.task_id]
        assert attempt.status == AttemptStatus.COMPLETED
        assert BACK_PRESSURE not in attempt.operator_data


def test_a_tick_whose_waiting_attempts_are_refused_again_still_polls_and_collects_the_others(start_run, world):
    # given a run with one job submitted and one attempt waiting behind a refusal
    world.default = None
    world.submit_errors = {"second": REFUSAL}
    run = start_run(Campaignish([Task(task_id="first"), Task(task_id="second")]))
    run.tick()
    assert (run.attempt("first").status, run.attempt("second").status) == (AttemptStatus.SUBMITTED,
                                                                            AttemptStatus.CREATED)
    # when the first job finishes and the next tick is refused the second again
    world.default = AttemptStatus.COMPLETED
    run.tick()
    # then that tick polled and collected the first all the same
    assert run.attempt("first").status == AttemptStatus.COMPLETED
    assert run.attempt_dir("first").joinpath("result.txt").read_text() == "first"
    assert run.attempt("second").status == AttemptStatus.CREATED
