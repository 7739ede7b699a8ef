"""The public API as a workspace's main.py (or a notebook) uses it: initialize a run, tick it,
run it to the end, with real local processes."""

from __future__ import annotations

import json

from matterstack import Campaign, RunHandle, initialize_run, run_until_completion, step_run
from matterstack.core.status import RunStatus
from matterstack.project.layout import load_campaign

MAIN_PY = '''
    from matterstack import Campaign, FileFromPath, Task, Workflow


    class Squares(Campaign):
        """Square two numbers in separate processes, then sum them in a third."""

        def plan(self, state):
            if state is None:
                return Workflow([
                    Task(task_id=f"square{n}", command=f"echo $(({n} * {n})) > square.txt")
                    for n in (3, 4)
                ])
            if "sum" not in state:
                wf = Workflow()
                wf.add_task(Task(task_id="sum", command="echo $(( $(cat a.txt) + $(cat b.txt) )) > sum.txt",
                                 files={"a.txt": FileFromPath(state["squares"][0]),
                                        "b.txt": FileFromPath(state["squares"][1])},
                                 dependencies={"square3", "square4"}))
                return wf
            return None

        def analyze(self, state, results):
            state = dict(state or {})
            if "squares" not in state:
                state["squares"] = [results[t]["files"]["square.txt"] for t in ("square3", "square4")]
            else:
                state["sum"] = open(results["sum"]["files"]["sum.txt"]).read().strip()
            return state


    def get_campaign():
        return Squares()
'''


def test_workspace_main_runs_to_completion_through_the_public_api(tmp_path, make_workspace):
    # given a workspace whose main.py uses only the public names
    workspace = make_workspace(MAIN_PY, slug="squares")
    campaign = load_campaign(workspace)
    assert isinstance(campaign, Campaign)
    # when a run is initialized and run to the end
    handle = initialize_run("squares", campaign, base_path=tmp_path / "workspaces")
    status = run_until_completion(handle, campaign, poll_interval=0.02)
    # then it completed in the workspace's runs folder, and the campaign state holds the answer
    assert isinstance(handle, RunHandle)
    assert status == RunStatus.COMPLETED
    assert handle.root_path.parent == workspace / "runs"
    state = json.loads((handle.root_path / "campaign_state.json").read_text())
    assert state["sum"] == "25"
    assert all(path.startswith(str(handle.root_path)) for path in state["squares"])


def test_step_run_moves_a_run_one_tick_at_a_time(tmp_path, make_workspace):
    # given a freshly initialized run of the same workspace
    campaign = load_campaign(make_workspace(MAIN_PY))
    handle = initialize_run("demo", campaign, base_path=tmp_path / "workspaces", run_id="r1")
    # when it is stepped once, then until it ends
    first = step_run(handle, campaign)
    statuses = [first]
    while not statuses[-1].is_terminal and len(statuses) < 2000:
        statuses.append(step_run(handle, campaign))
    # then the first step started it and the last one completed it
    assert first == RunStatus.RUNNING
    assert statuses[-1] == RunStatus.COMPLETED
    assert step_run(handle, campaign) == RunStatus.COMPLETED


def test_legacy_import_paths_still_build_a_runnable_campaign(tmp_path, make_workspace):
    # given a main.py written for MatterStack 0.2.x
    legacy = '''
        from matterstack.core.campaign import Campaign
        from matterstack.core.workflow import Task, Workflow


        class Once(Campaign):
            def plan(self, state):
                return None if state else Workflow([Task(task_id="hello", command="echo hi > hi.txt")])

            def analyze(self, state, results):
                return {"hello": results["hello"]["status"]}


        def get_campaign():
            return Once()
    '''
    campaign = load_campaign(make_workspace(legacy, slug="legacy"))
    # when it runs to the end
    handle = initialize_run("legacy", campaign, base_path=tmp_path / "workspaces")
    # then it completes with the task's status recorded by analyze
    assert run_until_completion(handle, campaign, poll_interval=0.02) == RunStatus.COMPLETED
    assert json.loads((handle.root_path / "campaign_state.json").read_text()) == {"hello": "COMPLETED"}
