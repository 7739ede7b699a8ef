"""New attempts are named ``YYYYMMDD_HHMMSS_<8 hex>`` (their creation second, UTC), as 0.2.6
named them: distinct within a run, and a task's attempts list in attempt order."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from lifecycle_kit import Campaignish

from matterstack import Task
from matterstack.core.ids import CHRONOLOGICAL_ID, id_second
from matterstack.core.records import Attempt
from matterstack.core.status import AttemptStatus
from matterstack.orchestrator.api import rerun_task
from matterstack.orchestrator.attempt_names import AttemptNames
from matterstack.store import StateStore

TICK = datetime(2026, 12, 7, 2, 14, 45, tzinfo=timezone.utc)


def test_one_tick_names_hundreds_of_attempts_distinctly_after_its_second(start_run, world):
    # given a run of 400 ready tasks that stay submitted
    world.default = None
    run = start_run(Campaignish([Task(task_id=f"t{i:03d}") for i in range(400)]))
    # when one tick creates all their attempts
    assert run.tick().submitted == 400
    # then every attempt has its own chronological id, of the second it was created in,
    # and its folder is named after it
    with run.store() as store:
        attempts = [store.attempts_for_task(f"t{i:03d}")[0] for i in range(400)]
    ids = [a.attempt_id for a in attempts]
    assert len(set(ids)) == 400
    for attempt in attempts:
        assert CHRONOLOGICAL_ID.match(attempt.attempt_id)
        assert attempt.attempt_id[:15] == id_second(attempt.created_at)
        assert attempt.relative_path == f"tasks/{attempt.task_id}/attempts/{attempt.attempt_id}"
        assert (run.handle.root_path / attempt.relative_path).is_dir()


def test_attempts_of_a_task_rerun_within_one_second_list_in_attempt_order(start_run, world):
    # given a task that fails at once, beside one that keeps the run going
    world.default = None
    world.task_outcomes["flaky"] = AttemptStatus.FAILED
    run = start_run(Campaignish([Task(task_id="flaky"), Task(task_id="slow")]))
    run.tick()
    run.tick()
    # when it is rerun five times as fast as ticks go (mostly within the same second)
    for _ in range(5):
        rerun_task(run.handle, "flaky", registry=run.registry)
        run.tick()
        run.tick()
    # then its attempts folder, listed by name, is in attempt order
    attempts = run.attempts("flaky")
    assert [a.attempt_index for a in attempts] == [1, 2, 3, 4, 5, 6]
    by_index = [a.attempt_id for a in attempts]
    assert sorted(os.listdir(run.handle.root_path / "tasks" / "flaky" / "attempts")) == by_index
    assert len(set(by_index)) == 6


def test_an_id_the_run_holds_already_is_drawn_again_before_anything_is_written(start_run, world):
    # given a run whose database holds an attempt of "a" under the id about to be given to "b"
    world.default = None
    run = start_run(Campaignish([Task(task_id="a"), Task(task_id="b")]))
    with StateStore.open(run.handle.db_path) as store:
        names = AttemptNames(store, TICK, {})
        clashing = names.new("b")
        store.add_attempts([Attempt(attempt_id=clashing, task_id="a", run_id=run.handle.run_id, attempt_index=1,
                                    created_at=TICK, relative_path=f"tasks/a/attempts/{clashing}")])
        planned = Attempt(attempt_id=clashing, task_id="b", run_id=run.handle.run_id, attempt_index=1,
                          created_at=TICK, relative_path=f"tasks/b/attempts/{clashing}")
        # when the tick's new attempts are settled against the database
        renamed = names.settled([planned])
        # then b's attempt gets another id of the same second, and its folder follows
        new = renamed[clashing]
        assert new.attempt_id != clashing and new.attempt_id[:15] == clashing[:15]
        assert new.relative_path == f"tasks/b/attempts/{new.attempt_id}"
        store.add_attempts([new])
        assert [a.attempt_id for a in store.attempts_for_task("b")] == [new.attempt_id]


def test_ids_the_run_does_not_hold_are_kept(start_run, world):
    run = start_run(Campaignish([Task(task_id="a")]))
    with StateStore.open(run.handle.db_path) as store:
        names = AttemptNames(store, TICK, {})
        planned = Attempt(attempt_id=names.new("a"), task_id="a", run_id=run.handle.run_id, attempt_index=1,
                          created_at=TICK)
        assert names.settled([planned]) == {}
