"""A workspace's own operators.yaml and ``$MATTERSTACK_OPERATORS_CONFIG`` wire its runs, as in
MatterStack 0.2.7, through the installed ``matterstack`` command: the source is recorded under
0.2.7's names, the run keeps its snapshot, a different ``--operators-config`` is refused and
the refusal recorded, and ``operators check`` says which file runs would use."""

from __future__ import annotations

import json
import textwrap

import pytest
from e2e_kit import assert_one_line_error, ok
from installs import clean_env

MAIN_PY = """
    from matterstack import Campaign, Task, Workflow

    class OnAtesting(Campaign):
        def plan(self, state):
            if state is None:
                return Workflow([Task(task_id="job", command="pwd > where.txt", operator_key="hpc.atesting")])
            return None

        def analyze(self, state, results):
            return {"done": True}

    def get_campaign():
        return OnAtesting()
"""
ATESTING = """
    operators:
      local.default: {kind: local}
      hpc.atesting: {kind: hpc, backend: {type: local, workspace_root: scratch/atesting}}
"""
WITHOUT_ATESTING = """
    operators:
      local.default: {kind: local}
      hpc.other: {kind: hpc}
"""


@pytest.fixture
def workspace(project):
    """Workspace ``cells`` whose one task names ``hpc.atesting``."""
    return project.add_workspace("cells", MAIN_PY)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def metadata(project, run_id) -> dict:
    return json.loads((project.run_dir(run_id) / "operators_snapshot/metadata.json").read_text())


def events(project, run_id) -> list[str]:
    lines = (project.run_dir(run_id) / "operators_snapshot/history.jsonl").read_text().splitlines()
    return [json.loads(line)["event"] for line in lines]


def job_ran_under(project, run_id, root) -> bool:
    (attempt,) = project.attempts(run_id, "job")
    where = (project.run_dir(run_id) / attempt["relative_path"] / "where.txt").read_text().strip()
    return attempt["operator_key"] == "hpc.atesting" and where.startswith(str(root))


def test_init_and_loop_use_the_workspace_file_and_record_workspace_default(project, workspace):
    own = write(workspace / "operators.yaml", ATESTING)

    run_id = project.init("cells")
    loop = ok(project.matterstack("loop", run_id, "--interval", "0.05"))

    assert f"Run {run_id} COMPLETED" in loop.stdout
    assert job_ran_under(project, run_id, project.root / "scratch/atesting/cells" / run_id)
    effective = metadata(project, run_id)["effective"]
    assert effective["source"] == "WORKSPACE_DEFAULT" and effective["resolved_path"] == str(own.resolve())
    assert events(project, run_id) == ["WIRING_PERSISTED"]
    status = json.loads(ok(project.matterstack("status", run_id, "--json")).stdout)
    assert status["wiring"]["source"] == "WORKSPACE_DEFAULT" and status["wiring"]["pinned"] is True
    explained = ok(project.matterstack("explain", run_id)).stdout
    assert f"wiring: WORKSPACE_DEFAULT: the workspace's operators.yaml {own.resolve()}" in explained
    ok(project.matterstack("export-evidence", run_id))
    bundle = json.loads((project.run_dir(run_id) / "evidence/bundle.json").read_text())
    assert bundle["wiring"]["source"] == "WORKSPACE_DEFAULT"
    assert bundle["data"]["operator_wiring"]["source"] == "WORKSPACE_DEFAULT"


def test_init_and_loop_use_the_environment_variable_and_record_env_var(project, workspace, tmp_path):
    named = write(tmp_path / "site/operators.yaml", ATESTING)
    env = clean_env(MATTERSTACK_OPERATORS_CONFIG=str(named))

    run_id = ok(project.matterstack("init", "cells", env=env)).stdout.split()[1]
    ok(project.matterstack("loop", run_id, "--interval", "0.05", env=env))

    assert job_ran_under(project, run_id, project.root / "scratch/atesting/cells" / run_id)
    assert metadata(project, run_id)["effective"]["source"] == "ENV_VAR"
    assert metadata(project, run_id)["effective"]["resolved_path"] == str(named.resolve())
    status = json.loads(ok(project.matterstack("status", run_id, "--json")).stdout)
    assert status["wiring"]["source"] == "ENV_VAR"


def test_the_runs_snapshot_wins_over_a_changed_workspace_file(project, workspace):
    write(workspace / "operators.yaml", ATESTING)
    run_id = project.init("cells")

    write(workspace / "operators.yaml", WITHOUT_ATESTING)
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))

    assert job_ran_under(project, run_id, project.root / "scratch/atesting/cells" / run_id)
    assert events(project, run_id) == ["WIRING_PERSISTED"]


def test_a_different_operators_config_is_refused_and_the_refusal_recorded(project, workspace, tmp_path):
    write(workspace / "operators.yaml", ATESTING)
    run_id = project.init("cells")
    other = write(tmp_path / "other.yaml", WITHOUT_ATESTING)

    refused = project.matterstack("step", run_id, "--operators-config", str(other))

    assert_one_line_error(refused, f"run {run_id}: the run's wiring", "--force-wiring-override")
    assert events(project, run_id) == ["WIRING_PERSISTED", "WIRING_OVERRIDE_REFUSED"]
    assert metadata(project, run_id)["effective"]["source"] == "WORKSPACE_DEFAULT"
    assert "wiring override refused at" in ok(project.matterstack("explain", run_id)).stdout


def test_a_subfolder_of_the_project_finds_the_workspace_file(project, workspace):
    write(workspace / "operators.yaml", ATESTING)
    below = project.root / "notes/today"
    below.mkdir(parents=True)

    run_id = ok(project.matterstack("init", "cells", cwd=below)).stdout.split()[1]
    ok(project.matterstack("loop", run_id, "--interval", "0.05", cwd=below))

    assert metadata(project, run_id)["effective"]["source"] == "WORKSPACE_DEFAULT"
    assert job_ran_under(project, run_id, below / "scratch/atesting/cells" / run_id)


def test_a_bad_workspace_file_is_refused_in_one_line_and_no_run_is_made(project, workspace):
    write(workspace / "operators.yaml", "operators:\n  hpc.atesting: {kind: hpc, max_concurent: 2}\n")

    refused = project.matterstack("init", "cells")

    assert_one_line_error(refused, str(workspace / "operators.yaml"), "operators.hpc.atesting.max_concurent",
                          "unknown key")
    assert not (workspace / "runs").exists() or not any((workspace / "runs").iterdir())


def test_operators_check_without_a_file_names_each_workspaces_file_and_source(project, workspace, tmp_path):
    own = write(workspace / "operators.yaml", ATESTING)
    project.add_workspace("plain", MAIN_PY)

    table = ok(project.matterstack("operators", "check")).stdout
    reports = json.loads(ok(project.matterstack("operators", "check", "--json")).stdout)
    named = write(tmp_path / "env.yaml", WITHOUT_ATESTING)
    env = clean_env(MATTERSTACK_OPERATORS_CONFIG=str(named))
    plain = json.loads(ok(project.matterstack("operators", "check", "--workspace", "plain", "--json", env=env)).stdout)

    assert f"workspace cells: WORKSPACE_DEFAULT ({own.resolve()})" in table
    assert "workspace plain: embedded default (no operators.yaml in the workspace" in table
    assert [(r["workspace"], r["source"], r["file"]) for r in reports] == [
        ("cells", "WORKSPACE_DEFAULT", str(own.resolve())), ("plain", "embedded default", None)]
    assert [(r["workspace"], r["source"], r["file"]) for r in plain] == [("plain", "ENV_VAR", str(named.resolve()))]


def test_operators_check_without_a_file_refuses_a_bad_workspace_file_in_one_line(project, workspace):
    write(workspace / "operators.yaml", "operators:\n  hpc.atesting: {kind: hpc, max_concurent: 2}\n")

    assert_one_line_error(project.matterstack("operators", "check"), "operators.hpc.atesting.max_concurent")
