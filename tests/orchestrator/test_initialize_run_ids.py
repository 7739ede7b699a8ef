"""``initialize_run(run_id=...)`` from Python: whatever text a caller passes, the run's
database is made inside ``<workspace>/runs/<run_id>/`` or nowhere."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from matterstack import Campaign, Task, Workflow, initialize_run
from matterstack.core.run_id import run_id_problem
from matterstack.errors import ConfigError


class OneTask(Campaign):
    def plan(self, state):
        return Workflow([Task(task_id="only", command="true")]) if state is None else None

    def analyze(self, state, results):
        return state


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=40))
@example("../..")
@example("/tmp/abs-run")
@example("a/b")
@example("x\ny")
def test_initialize_run_makes_the_database_inside_runs_or_refuses_and_makes_nothing(run_id):
    base = Path(tempfile.mkdtemp(prefix="ms-run-ids-"))
    try:
        workspace = base / "project" / "workspaces" / "demo"
        workspace.mkdir(parents=True)
        try:
            handle = initialize_run("demo", OneTask(), run_id=run_id, workspace_path=workspace)
        except ConfigError as refused:
            assert run_id_problem(run_id) is not None and "\n" not in refused.one_line()
            assert list(base.rglob("state.sqlite")) == [] and not Path("/tmp/abs-run").exists()
        else:
            assert run_id_problem(run_id) is None
            assert list(base.rglob("state.sqlite")) == [workspace / "runs" / run_id / "state.sqlite"]
            assert handle.root_path == workspace / "runs" / run_id
    finally:
        shutil.rmtree(base)
