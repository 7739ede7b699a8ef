"""``matterstack rerun <run> <task> --time-limit/--cores/--memory-gb/--gpus`` as a person types
it, on local jobs: beside a running ``loop`` the new attempt is submitted with the new
resources, ``attempts`` and ``explain`` show the change, and bad values are refused on one
line, exit 2, with nothing recorded."""

from __future__ import annotations

import json

import pytest

from e2e_kit import assert_one_line_error, hash_tree, ok, row_counts
from installs import clean_env

RELAX = """
    import os
    from matterstack import Campaign, Task, Workflow

    class Relax(Campaign):
        \"\"\"relax fails until the file $GO exists; hold runs until $STOP exists.\"\"\"

        def plan(self, state):
            if state is not None:
                return None
            go, stop = os.environ["GO"], os.environ["STOP"]
            wf = Workflow()
            wf.add_task(Task(task_id="relax", time_limit_minutes=1, memory_gb=2, env={"GO": go},
                             command='test -e "$GO" || exit 3; echo done > out.txt'))
            wf.add_task(Task(task_id="hold", env={"STOP": stop},
                             command='while [ ! -e "$STOP" ]; do sleep 0.05; done'))
            return wf

        def analyze(self, state, results):
            return {"done": sorted(results)}

    def get_campaign():
        return Relax()
"""


@pytest.fixture
def relax_run(project, tmp_path):
    """An initialised run of the Relax campaign, with its GO and STOP files (not yet made)."""
    project.add_workspace("relax", RELAX)
    go, stop = tmp_path / "go", tmp_path / "stop"
    environment = clean_env(GO=str(go), STOP=str(stop))
    result = ok(project.matterstack("init", "relax", env=environment))
    return project, result.stdout.split()[1], go, stop, environment


def manifest_limits(folder):
    task = json.loads((folder / "manifest.json").read_text())["task"]
    return task["time_limit_minutes"], task["memory_gb"]


def test_rerun_with_a_longer_time_limit_beside_a_running_loop_submits_attempt_2_with_it(relax_run):
    # given a loop driving the run, and relax's first attempt failed
    project, run_id, go, stop, env = relax_run
    loop = project.start("loop", run_id, "--interval", "0.05", env=env)
    project.wait_for(lambda: [a["status"] for a in project.attempts(run_id, "relax")] == ["FAILED"],
                     what="relax's first attempt to fail")
    first = project.attempts(run_id, "relax")[0]
    first_dir = project.run_dir(run_id) / first["relative_path"]
    before = hash_tree(first_dir)
    go.touch()

    # when relax is rerun with a longer limit and more memory while the loop runs
    rerun = ok(project.matterstack("rerun", run_id, "relax", "--time-limit", "5", "--memory-gb", "4", "--force", env=env))
    explained = ok(project.matterstack("explain", run_id, env=env)).stdout
    project.wait_for(lambda: [a["status"] for a in project.attempts(run_id, "relax")] == ["FAILED", "COMPLETED"],
                     what="relax's second attempt")
    stop.touch()
    _, stderr = loop.communicate(timeout=60)

    # then attempt 2 ran with the new resources, attempt 1 is as it was, and the change shows
    listed = json.loads(ok(project.matterstack("attempts", run_id, "relax", "--json", env=env)).stdout)
    text = ok(project.matterstack("attempts", run_id, "relax", env=env)).stdout
    second_dir = project.run_dir(run_id) / listed[1]["path"]
    assert loop.returncode == 0, stderr
    assert "resources of relax: time_limit_minutes 1 → 5, memory_gb 2 → 4" in rerun.stdout
    assert "rerun of relax: time_limit_minutes 1 → 5, memory_gb 2 → 4" in explained
    assert manifest_limits(first_dir) == (1, 2) and manifest_limits(second_dir) == (5, 4)
    assert hash_tree(first_dir) == before
    assert [a["resources"]["time_limit_minutes"] for a in listed] == [1, 5]
    assert listed[0]["resource_changes"] == []
    assert listed[1]["resource_changes"][0]["changes"] == {"time_limit_minutes": [1, 5], "memory_gb": [2, 4]}
    assert "resources changed" in text and "time_limit_minutes 1 → 5" in text
    assert project.run_status(run_id) == "COMPLETED"


@pytest.mark.parametrize("flag, value, words", [
    ("--time-limit", "0", "time_limit_minutes must be a whole number of minutes >= 1, got '0'"),
    ("--time-limit", "-5", "got '-5'"),
    ("--time-limit", "abc", "got 'abc'"),
    ("--cores", "0", "cores must be a whole number of cores >= 1"),
    ("--memory-gb", "1.5", "memory_gb must be a whole number of GB >= 1"),
    ("--gpus", "-1", "gpus must be a whole number of GPUs >= 0"),
])
def test_a_bad_resource_value_is_refused_on_one_line_and_records_nothing(relax_run, flag, value, words):
    project, run_id, _, _, env = relax_run
    before = row_counts(project.run_dir(run_id) / "state.sqlite")

    result = project.matterstack("rerun", run_id, "relax", flag, value, "--force", env=env)

    assert_one_line_error(result, words, flag)
    assert row_counts(project.run_dir(run_id) / "state.sqlite") == before
    with project.db(run_id) as db:
        assert tuple(db.execute("SELECT time_limit_minutes, memory_gb FROM tasks WHERE task_id = 'relax'").fetchone()) == (1, 2)
