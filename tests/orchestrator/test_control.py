"""Run control: pause, resume, cancel, revive, rerun and cancel-attempt, on real runs."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from lifecycle_kit import Campaignish
from process_watch import process_alive, wait_for

from matterstack import Task
from matterstack.core.status import AttemptStatus, RunStatus
from matterstack.errors import MatterStackError, WorkflowError
from matterstack.orchestrator import control
from matterstack.store import StateStore


def _tree_digest(folder: Path) -> str:
    """One hash over every path, file content and symlink target below ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_paused_run_collects_running_work_and_starts_nothing_new(start_run, world):
    # given a -> b with a submitted, then the run paused
    world.default = None
    run = start_run(Campaignish([Task(task_id="a"), Task(task_id="b", dependencies={"a"})]))
    run.tick()
    assert control.pause(run.handle).status == RunStatus.PAUSED
    # when a finishes and the run is ticked
    world.default = AttemptStatus.COMPLETED
    report = run.tick()
    # then a was polled and collected, b did not start, and the run stays PAUSED
    assert report.status == RunStatus.PAUSED and report.finished == 1 and report.submitted == 0
    assert run.statuses() == {"a": "COMPLETED", "b": "PENDING"}
    assert (run.handle.root_path / run.attempt("a").relative_path / "result.txt").exists()
    assert run.tick().submitted == 0
    # when it is resumed, b starts and the run completes
    assert control.resume(run.handle).status == RunStatus.RUNNING
    assert run.tick().submitted == 1
    assert run.tick_until_done() == RunStatus.COMPLETED


def test_cancel_stops_the_local_process_and_closes_every_open_task(start_run, bare_host):
    # given a long local job and a task waiting on it
    campaign = Campaignish([Task(task_id="long", command="sleep 60"),
                            Task(task_id="after", command="true", dependencies={"long"})])
    run = start_run(campaign, "local.default", host_=bare_host)
    run.tick()
    pid_file = run.attempt_dir("long") / ".matterstack"
    pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().split(), what="the pid")[0])
    assert process_alive(pid)
    # when the run is cancelled
    result = control.cancel(run.handle, run.registry)
    # then the process is gone, the run and both tasks are CANCELLED, and ticks change nothing
    assert result.status == RunStatus.CANCELLED
    wait_for(lambda: not process_alive(pid), timeout=5, what="the job to die")
    assert run.run().status == RunStatus.CANCELLED
    assert run.statuses() == {"long": "CANCELLED", "after": "CANCELLED"}
    assert run.attempt("long").status == AttemptStatus.CANCELLED
    assert run.tick().status == RunStatus.CANCELLED


def test_cancel_of_a_finished_run_changes_nothing(start_run):
    # given a completed run
    run = start_run(Campaignish([Task(task_id="a")]))
    run.tick_until_done()
    # when it is cancelled, the change is refused and nothing is written
    with pytest.raises(MatterStackError, match="COMPLETED"):
        control.cancel(run.handle, run.registry)
    assert run.run().status == RunStatus.COMPLETED and run.statuses() == {"a": "COMPLETED"}


def test_revive_moves_a_failed_run_back_and_looks_at_skipped_tasks_again(start_run, world):
    # given a failed run: a failed, b skipped
    world.task_outcomes["a"] = AttemptStatus.FAILED
    run = start_run(Campaignish([Task(task_id="a"), Task(task_id="b", dependencies={"a"})]))
    assert run.tick_until_done() == RunStatus.FAILED
    # when it is revived
    assert control.revive(run.handle).status == RunStatus.PENDING
    # then it is PENDING with a reason, and b waits again
    assert "revived from FAILED" in run.run().status_reason
    assert run.statuses() == {"a": "FAILED", "b": "PENDING"}
    # and reviving a run that is not finished is refused
    with pytest.raises(WorkflowError, match="not finished"):
        control.revive(run.handle)


def test_rerun_adds_attempt_two_and_leaves_the_first_attempt_untouched(start_run, bare_host):
    # given a completed local task that wrote an output
    run = start_run(Campaignish([Task(task_id="t1", command="date +%s%N > out.txt; echo done")]),
                    "local.default", host_=bare_host)
    assert run.tick_until_done(interval=0.02) == RunStatus.COMPLETED
    first = run.attempt_dir("t1")
    before = _tree_digest(first)
    # when the task is rerun and the run ticked to the end again
    result = control.rerun(run.handle, run.registry, "t1")
    assert result.status == RunStatus.PENDING
    assert run.tick_until_done(interval=0.02) == RunStatus.COMPLETED
    # then the task has attempts 1 and 2, and attempt 1's folder is byte-identical
    attempts = run.attempts("t1")
    assert [a.attempt_index for a in attempts] == [1, 2]
    assert [a.status for a in attempts] == [AttemptStatus.COMPLETED] * 2
    assert run.attempt_dir("t1", 1) != first and (run.attempt_dir("t1", 1) / "out.txt").exists()
    assert _tree_digest(first) == before


def test_recursive_rerun_resets_every_dependent(start_run):
    # given a completed chain a -> b -> c and an unrelated task
    tasks = [Task(task_id="a"), Task(task_id="b", dependencies={"a"}), Task(task_id="c", dependencies={"b"}),
             Task(task_id="other")]
    run = start_run(Campaignish(tasks))
    assert run.tick_until_done() == RunStatus.COMPLETED
    # when a is rerun recursively
    control.rerun(run.handle, run.registry, "a", recursive=True)
    # then a, b and c are PENDING again, the other task is untouched, and each gets attempt 2
    assert run.statuses() == {"a": "PENDING", "b": "PENDING", "c": "PENDING", "other": "COMPLETED"}
    assert run.tick_until_done() == RunStatus.COMPLETED
    assert {t: len(run.attempts(t)) for t in "abc"} == {"a": 2, "b": 2, "c": 2}
    assert len(run.attempts("other")) == 1


def test_rerun_of_an_active_attempt_needs_force_and_force_cancels_it(start_run, world):
    # given a task whose attempt is still running
    world.default = None
    run = start_run(Campaignish([Task(task_id="a")]))
    run.tick()
    first = run.attempt("a")
    # when it is rerun without force, it is refused and nothing changes
    with pytest.raises(WorkflowError, match="active attempt"):
        control.rerun(run.handle, run.registry, "a")
    assert run.attempt("a") == first and world.cancelled == []
    # when it is rerun with force, the attempt is cancelled through its operator and replaced
    control.rerun(run.handle, run.registry, "a", force=True)
    assert world.cancelled == [first.attempt_id]
    assert run.attempts("a")[0].status == AttemptStatus.CANCELLED
    world.default = AttemptStatus.COMPLETED
    assert run.tick_until_done() == RunStatus.COMPLETED
    assert [(a.attempt_index, a.status) for a in run.attempts("a")] == [
        (1, AttemptStatus.CANCELLED), (2, AttemptStatus.COMPLETED)]


def test_rerun_of_an_unknown_task_changes_nothing(start_run):
    # given a completed run
    run = start_run(Campaignish([Task(task_id="a")]))
    run.tick_until_done()
    # when a task it does not have is rerun, the command is refused and the run stays finished
    with pytest.raises(MatterStackError, match="no task 'ghost'"):
        control.rerun(run.handle, run.registry, "ghost")
    assert run.run().status == RunStatus.COMPLETED


def test_cancel_attempt_stops_one_attempt_and_its_dependents_are_skipped(start_run, world):
    # given a running attempt with a dependent, and an independent task
    world.default = None
    run = start_run(Campaignish([Task(task_id="a"), Task(task_id="b", dependencies={"a"}), Task(task_id="c")]))
    run.tick()
    attempt = run.attempt("a")
    # when that attempt is cancelled
    control.cancel_attempt(run.handle, run.registry, attempt.attempt_id)
    # then its operator stopped it, the task is CANCELLED, and cancelling it again is refused
    assert world.cancelled == [attempt.attempt_id]
    assert run.statuses()["a"] == "CANCELLED"
    with pytest.raises(WorkflowError, match="already CANCELLED"):
        control.cancel_attempt(run.handle, run.registry, attempt.attempt_id)
    # and the run goes on: b is skipped, c completes, and the run ends CANCELLED (see
    # test_cancelled_tasks.py)
    world.default = AttemptStatus.COMPLETED
    assert run.tick_until_done() == RunStatus.CANCELLED
    assert run.statuses() == {"a": "CANCELLED", "b": "SKIPPED", "c": "COMPLETED"}


def test_control_commands_wait_for_no_one_but_refuse_a_locked_run(start_run):
    # given a run whose lock another process holds
    from matterstack.errors import RunLockedError
    from matterstack.store import RunLock

    run = start_run(Campaignish([Task(task_id="a")]))
    with RunLock(run.handle.root_path):
        # when it is paused, the command is refused at once
        with pytest.raises(RunLockedError):
            control.pause(run.handle)
    # then nothing changed, and the lock is free again
    assert run.run().status == RunStatus.PENDING
    assert control.pause(run.handle).status == RunStatus.PAUSED
    with StateStore.open(run.handle.db_path, readonly=True) as store:
        assert store.get_run().status == RunStatus.PAUSED
