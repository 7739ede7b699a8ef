"""Through the ``matterstack`` command, as a user of MatterStack 0.2.x moving over: a run's
``config.json`` caps each operator key and routes (or simulates) the tasks that name no
operator; ``dry_run: true`` in a backend block records commands and runs none."""

from __future__ import annotations

import json
import textwrap
from itertools import accumulate

import pytest

from e2e_kit import Project, assert_one_line_error, hash_tree, ok
from installs import clean_env

SLEEPERS_WITH_CLOCKS = """
    from matterstack import Campaign, Task, Workflow

    # Each job writes when it started and ended, so the test sees how many really overlapped.
    CLOCKED = "date +%s.%N > started; sleep 0.6; date +%s.%N > ended"

    class Sleepers(Campaign):
        def plan(self, state):
            if state is not None:
                return None
            return Workflow([Task(task_id=f"sleep{i}", command=CLOCKED) for i in range(5)])

        def analyze(self, state, results):
            return {"done": True}

    def get_campaign():
        return Sleepers()
"""

MARKER = """
    from matterstack import Campaign, Task, Workflow

    class Marker(Campaign):
        def plan(self, state):
            if state is not None:
                return None
            return Workflow([Task(task_id="make_marker", command="touch marker"{key})])

        def analyze(self, state, results):
            return {{"done": True}}

    def get_campaign():
        return Marker()
"""


def marker_workspace(project: Project, operator_key: str | None = None) -> None:
    project.add_workspace("legacy", MARKER.format(key=f", operator_key={operator_key!r}" if operator_key else ""))


def write_config_json(project: Project, run_id: str, document) -> None:
    text = document if isinstance(document, str) else json.dumps(document)
    (project.run_dir(run_id) / "config.json").write_text(text)


def markers(project: Project) -> list:
    return list(project.root.rglob("marker"))


def test_max_hpc_jobs_per_run_keeps_at_most_that_many_jobs_of_a_key_running(project):
    # given five one-second jobs naming no operator, in a run whose config.json sends them
    # to hpc.default and caps each key at 2
    project.add_workspace("legacy", SLEEPERS_WITH_CLOCKS)
    run_id = project.init("legacy")
    write_config_json(project, run_id, {"execution_mode": "HPC", "max_hpc_jobs_per_run": 2})

    # when one step starts what it may, explain is asked, then the run is looped to the end
    stepped = ok(project.matterstack("step", run_id)).stdout
    explained = ok(project.matterstack("explain", run_id)).stdout
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))

    # then two started at first and the others waited for a slot, as explain said
    assert "(submitted 2," in stepped
    assert ("[PENDING] waits for a free slot: 2 active attempts on hpc.default, "
            "config.json max_hpc_jobs_per_run 2") in explained
    # and no more than two jobs ever ran at once, all on hpc.default
    attempts = project.attempts(run_id)
    assert [a["operator_key"] for a in attempts] == ["hpc.default"] * 5
    assert {a["status"] for a in attempts} == {"COMPLETED"}
    moments = []
    for attempt in attempts:
        folder = project.run_dir(run_id) / attempt["relative_path"]
        moments += [(float((folder / "started").read_text()), 1), (float((folder / "ended").read_text()), -1)]
    assert max(accumulate(change for _, change in sorted(moments))) == 2
    assert project.run_status(run_id) == "COMPLETED"


@pytest.mark.parametrize(("mode", "key"), [("HPC", "hpc.default"), ("Local", "local.default")])
def test_execution_mode_runs_untagged_tasks_where_0_2_x_ran_them(project, mode, key):
    # given a task naming no operator, in a run whose config.json names a mode
    marker_workspace(project)
    run_id = project.init("legacy")
    write_config_json(project, run_id, {"execution_mode": mode})

    # when the run is looped to the end
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))

    # then the task really ran, on the key the mode stands for
    (attempt,) = project.attempts(run_id, "make_marker")
    assert (attempt["operator_key"], attempt["status"]) == (key, "COMPLETED")
    assert (project.run_dir(run_id) / attempt["relative_path"] / "marker").is_file()


def test_execution_mode_simulation_completes_untagged_tasks_without_running_them(project):
    # given a task naming no operator, in a run whose config.json says Simulation
    marker_workspace(project)
    run_id = project.init("legacy")
    write_config_json(project, run_id, {"execution_mode": "Simulation", "max_hpc_jobs_per_run": 4})

    # when the run is stepped once, then looped to the end
    stepped = ok(project.matterstack("step", run_id)).stdout
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))
    explained = ok(project.matterstack("explain", run_id)).stdout

    # then the task is COMPLETED without an attempt and nothing ran, and step and explain say why
    assert project.run_status(run_id) == "COMPLETED"
    assert project.attempts(run_id, "make_marker") == [] and markers(project) == []
    with project.db(run_id) as db:
        (status,) = db.execute("SELECT status FROM tasks WHERE task_id = 'make_marker'").fetchone()
    assert status == "COMPLETED"
    assert "make_marker: simulated: config.json execution_mode is Simulation" in stepped
    assert "make_marker: simulated: config.json execution_mode is Simulation" in explained


def test_run_without_config_json_runs_untagged_tasks_for_real(project):
    # given a new run, which has no config.json
    marker_workspace(project)
    run_id = project.init("legacy")

    # when it is looped to the end
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))

    # then the task ran on the default operator, and no config.json was made
    (attempt,) = project.attempts(run_id, "make_marker")
    assert (attempt["operator_key"], attempt["status"]) == ("local.default", "COMPLETED")
    assert len(markers(project)) == 1
    assert not (project.run_dir(run_id) / "config.json").exists()


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ("{'execution_mode': 'HPC'}", ["config.json: is not JSON"]),
        ({"execution_mode": "Slurm"}, ["config.json: execution_mode: unknown mode 'Slurm'", "'HPC', 'Local' or 'Simulation'"]),
        ({"execution_mode": "HPC", "max_hpc_jobs_per_run": "8"}, ["config.json: max_hpc_jobs_per_run:", "'8' (str)"]),
    ],
    ids=["not-json", "unknown-mode", "cap-as-text"],
)
def test_bad_config_json_is_refused_in_one_line_and_nothing_is_written(project, document, words):
    # given a run whose config.json does not validate
    marker_workspace(project)
    run_id = project.init("legacy")
    write_config_json(project, run_id, document)
    before = hash_tree(project.run_dir(run_id))

    # when it is stepped
    result = project.matterstack("step", run_id)

    # then one line names the file, the key and the fix; the run folder is as it was (but for
    # the empty lock file step takes before it reads anything)
    line = assert_one_line_error(result, *words, "fix:")
    assert str(project.run_dir(run_id) / "config.json") in line
    after = hash_tree(project.run_dir(run_id))
    after.pop("run.lock", None)
    assert after == before
    assert markers(project) == []


@pytest.mark.parametrize(
    ("wiring", "key"),
    [
        ("""
         operators:
           local.default: {kind: local}
           hpc.default:
             kind: hpc
             backend: {type: local, dry_run: true}
         """, "hpc.default"),
        ("""
         operators:
           local.default:
             kind: local
             backend: {type: local, dry_run: true}
         """, "local.default"),
        ("""
         operators:
           local.default: {kind: local}
           hpc.default:
             kind: hpc
             backend: {type: slurm, workspace_root: /nonexistent/scratch, dry_run: true, slurm: {partition: x}}
         """, "hpc.default"),
    ],
    ids=["hpc-instance", "local-instance", "slurm-backend-never-asked"],
)
def test_dry_run_records_the_command_and_runs_nothing(project, wiring, key):
    # given a workspace whose task would leave a file, and an operators.yaml whose instance
    # says dry_run
    marker_workspace(project, key)
    (project.root / "operators.yaml").write_text(textwrap.dedent(wiring))
    run_id = project.init("legacy", "--operators-config", "operators.yaml")

    # when the run is looped to the end and its evidence exported
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))
    attempts_text = ok(project.matterstack("attempts", run_id, "make_marker")).stdout
    explained = ok(project.matterstack("explain", run_id)).stdout
    ok(project.matterstack("export-evidence", run_id))

    # then nothing ran, the attempt is COMPLETED, and its folder holds the command it would have run
    assert markers(project) == []
    (attempt,) = project.attempts(run_id, "make_marker")
    assert (attempt["operator_key"], attempt["status"]) == (key, "COMPLETED")
    folder = project.run_dir(run_id) / attempt["relative_path"]
    recorded = json.loads((folder / "dry_run.json").read_text())
    assert (recorded["dry_run"], recorded["command"], recorded["operator_key"]) == (True, "touch marker", key)
    # and attempts, explain and the evidence bundle say it was a dry run
    said = f"dry run: would have run `touch marker` on {key}; nothing was executed"
    assert said in attempts_text and said in explained
    assert f"{key}: kind local" in explained or f"{key}: kind hpc" in explained
    assert "dry run (records each command, runs nothing)" in explained
    bundle = json.loads((project.run_dir(run_id) / "evidence" / "bundle.json").read_text())
    (task,) = [t for t in bundle["tasks"] if t["task_id"] == "make_marker"]
    assert said in task["attempts"][0]["reason"]
    assert said in (project.run_dir(run_id) / "evidence" / "report.md").read_text()


ORIGINAL_DIALECT_DRY_RUN = """
defaults:
  max_concurrent_global: 8
operators:
  local.default: {kind: local, backend: {type: local, dry_run: true}}
  hpc.default: {kind: hpc, max_concurrent: 3, backend: {type: local, dry_run: true}}
"""


@pytest.mark.parametrize("where", ["workspace", "environment"])
def test_a_0_2_x_operators_yaml_saying_dry_run_executes_nothing_after_init_and_loop(project, where):
    # given 0.2.x's operators.yaml dialect with dry_run, as the workspace's own file or named by
    # $MATTERSTACK_OPERATORS_CONFIG, and a task naming no operator that would leave a file
    marker_workspace(project)
    folder = project.workspaces / "legacy" if where == "workspace" else project.root / "site"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "operators.yaml").write_text(ORIGINAL_DIALECT_DRY_RUN)
    env = clean_env(**({"MATTERSTACK_OPERATORS_CONFIG": str(folder / "operators.yaml")} if where == "environment" else {}))

    # when the run is made and looped with nothing but init and loop
    run_id = ok(project.matterstack("init", "legacy", env=env)).stdout.split()[1]
    ok(project.matterstack("loop", run_id, "--interval", "0.05", env=env))

    # then the attempt is a COMPLETED dry run on local.default, and nothing ran
    (attempt,) = project.attempts(run_id, "make_marker")
    assert (attempt["operator_key"], attempt["status"]) == ("local.default", "COMPLETED")
    assert attempt["status_reason"].startswith("dry run: would have run `touch marker` on local.default")
    assert markers(project) == []
