"""The monitor's table of instances counts the tasks' current attempts in the database, and
still asks each attempt whose key column says nothing (as 0.2.x left them) for its key."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from matterstack.cli.monitor_live import read_run
from matterstack.core.records import Attempt, Run
from matterstack.core.workflow import Task
from matterstack.errors import MatterStackError
from matterstack.orchestrator.handle import RunHandle
from matterstack.store import StateStore

T0 = datetime(2027, 1, 1, tzinfo=timezone.utc)


def no_explanation(handle, store):
    raise MatterStackError("not asked in this test")


def test_current_attempts_are_counted_by_the_instance_each_belongs_to(tmp_path: Path):
    # given attempts keyed by their column, by operator_data, by 0.2.x's operator_type, and by nothing
    run_dir = tmp_path / "workspaces" / "demo" / "runs" / "r1"
    run = Run(run_id="r1", workspace_slug="demo", root_path=str(run_dir), created_at=T0)
    keys = [("hpc.default", {}, None), ("hpc.default", {}, None), (None, {}, "HPC"),
            (None, {"operator_key": "human.default"}, None), (None, {}, None)]
    with StateStore.create(run_dir / "state.sqlite", run) as store:
        store.add_tasks([Task(task_id=f"t{n}", image="", command="true") for n in range(len(keys) + 1)])
        store.add_attempts([
            Attempt(attempt_id=f"a{n}", task_id=f"t{n}", run_id="r1", attempt_index=1, operator_key=key,
                    operator_data=data, operator_type=legacy, created_at=T0)
            for n, (key, data, legacy) in enumerate(keys)])

        # when
        view = read_run(RunHandle("r1", "demo", run_dir), store, no_explanation)

    # then
    assert {key: dict(statuses) for key, statuses in view.instances.items()} == {
        "hpc.default": {"CREATED": 3}, "human.default": {"CREATED": 1}, "?": {"CREATED": 1}}
    assert view.counts == {"PENDING": 1, "WAITING_EXTERNAL": 5}
