"""Journey 6: runs written by MatterStack 0.2.x, read and continued by the command line.

Each fixture folder is copied to ``<tmp>/workspaces/`` and the commands run from ``<tmp>``,
as tests/fixtures/legacy-runs/README.md says.
"""

from __future__ import annotations

import json

import pytest

from e2e_kit import LEGACY_RUNS, Project, copy_writable, ok, read_db

V2_COMPLETED = "20261124_142216_9bef32b1"
V2_RUNNING = "20261124_142245_e5542ff0"
V3_UPGRADED = "20261124_142415_359cfb40"
V3_RUNNING = "20261124_142443_89d0213d"
V1_RUNNING = "20261124_142113_28d86a26"


@pytest.fixture
def legacy(tmp_path, installed_matterstack):
    """``legacy("v2")``: a project holding a writable copy of that fixture's workspaces."""

    def copy(version: str) -> Project:
        project = Project(tmp_path / version, installed_matterstack)
        copy_writable(LEGACY_RUNS / version, project.workspaces)
        return project

    return copy


def schema_version(project: Project, run_id: str) -> str:
    with read_db(project.run_dir(run_id) / "state.sqlite") as db:
        return db.execute("SELECT value FROM schema_info WHERE key = 'version'").fetchone()[0]


def attempt_rows(project: Project, run_id: str) -> dict[str, dict]:
    return {row["attempt_id"]: dict(row) for row in project.attempts(run_id)}


def test_status_of_a_0_2_5_run_migrates_it_and_shows_it(legacy):
    # given
    project = legacy("v2")
    assert schema_version(project, V2_COMPLETED) == "2"

    # when
    text = ok(project.matterstack("status", V2_COMPLETED)).stdout
    as_json = json.loads(ok(project.matterstack("status", V2_COMPLETED, "--json")).stdout)

    # then
    assert int(schema_version(project, V2_COMPLETED)) > 3
    assert text.splitlines()[0] == f"Run {V2_COMPLETED}: COMPLETED (Revived via CLI from FAILED)"
    assert as_json["workspace_slug"] == "catalyst_loop"
    assert as_json["tasks"] == {"COMPLETED": 11, "FAILED": 1}


def test_attempts_of_a_0_2_5_run_show_the_backfilled_operator_keys(legacy):
    project = legacy("v2")

    fit = json.loads(ok(project.matterstack("attempts", V2_COMPLETED, "fit_scaling", "--json")).stdout)
    review = json.loads(ok(project.matterstack("attempts", V2_COMPLETED, "screen_review", "--json")).stdout)
    text = ok(project.matterstack("attempts", V2_COMPLETED, "tem_imaging")).stdout

    assert [(a["attempt_index"], a["status"], a["operator_key"]) for a in fit] == [
        (1, "FAILED", "hpc.default"), (2, "COMPLETED", "hpc.default")]
    assert [a["operator_key"] for a in review] == ["human.default"]
    assert "experiment.default" in text
    keys = {row["task_id"]: row["operator_key"] for row in project.attempts(V2_COMPLETED)}
    assert keys["fit_scaling"] == "hpc.default" and keys["screen_review"] == "human.default"


def test_attempts_of_an_upgraded_0_2_7_run_resolve_the_key_0_2_7_left_null(legacy):
    project = legacy("v3")

    (build,) = json.loads(ok(project.matterstack("attempts", V3_UPGRADED, "build_chains", "--json")).stdout)
    (search,) = json.loads(ok(project.matterstack("attempts", V3_UPGRADED, "conf_search_ps", "--json")).stdout)

    assert build["operator_key"] == "hpc.default"
    assert search["operator_key"] == "hpc.dev"


def test_explain_of_a_running_0_2_5_run_names_what_each_task_waits_for(legacy):
    project = legacy("v2")

    text = ok(project.matterstack("explain", V2_RUNNING)).stdout
    explained = json.loads(ok(project.matterstack("explain", V2_RUNNING, "--json")).stdout)
    frontier = {entry["task_id"]: entry for entry in explained["frontier"]}

    assert set(frontier) >= {"approve_batch", "tem_imaging", "md_run", "final_summary"}
    assert "response.json" in frontier["approve_batch"]["waits_for"]
    assert frontier["approve_batch"]["operator_key"] == "human.default"
    assert frontier["tem_imaging"]["operator_key"] == "experiment.default"
    assert "md_run" in frontier["final_summary"]["waits_for"]
    assert text.startswith(f"Run {V2_RUNNING}: RUNNING")


def test_step_of_a_running_0_2_5_run_collects_its_finished_job_and_leaves_the_waiting_alone(legacy):
    # given md_run: submitted by 0.2.5, never polled, its process long finished (exit_code 0)
    project = legacy("v2")
    ok(project.matterstack("status", V2_RUNNING))  # migrates, so the rows compare column for column
    before = attempt_rows(project, V2_RUNNING)

    # when
    result = ok(project.matterstack("step", V2_RUNNING))

    # then md_run is collected from <run>/<relative_path>, nothing is submitted twice
    after = attempt_rows(project, V2_RUNNING)
    (md_run,) = [a for a in after.values() if a["task_id"] == "md_run"]
    assert md_run["status"] == "COMPLETED"
    outputs = json.loads(md_run["operator_data"])["output_files"]
    assert "md_energy.csv" in outputs
    assert result.stdout.startswith(f"Run {V2_RUNNING}: RUNNING (submitted 0, finished 1")
    assert set(after) == set(before)
    assert not (project.run_dir(V2_RUNNING) / md_run["relative_path"] / ".matterstack").exists()  # never relaunched

    # and the person's and the lab's attempts are left as they were
    for task_id in ("approve_batch", "tem_imaging"):
        (mine,) = [a for a in after.values() if a["task_id"] == task_id]
        assert mine == before[mine["attempt_id"]]
        assert mine["status"] == "WAITING_EXTERNAL"
    assert project.run_status(V2_RUNNING) == "RUNNING"


def test_step_of_a_running_0_2_7_run_polls_every_instance_its_operators_yaml_names(legacy):
    # given md_production: submitted to hpc.dev by 0.2.7 and never polled
    project = legacy("v3")

    # when
    result = ok(project.matterstack("step", V3_RUNNING,
                                    "--operators-config", "workspaces/polymer_dft/site/operators.yaml"))

    # then
    (md_production,) = project.attempts(V3_RUNNING, "md_production")
    assert md_production["status"] == "COMPLETED" and md_production["operator_key"] == "hpc.dev"
    # the 0.2.7 stub attempt of an ExternalTask has no key: it is left alone, and step says so
    (stub,) = project.attempts(V3_RUNNING, "external_qc")
    assert stub["status"] == "WAITING_EXTERNAL"
    assert "external_qc" in result.stdout and "no operator key recorded" in result.stdout
    assert project.run_status(V3_RUNNING) == "RUNNING"


def test_step_of_a_0_2_7_run_without_flags_uses_the_wiring_snapshot_it_recorded(legacy):
    # given the run's operators_snapshot/ (written by 0.2.7), and no --operators-config
    project = legacy("v3")

    # when
    ok(project.matterstack("step", V3_RUNNING))

    # then hpc.dev is known from the snapshot, and its job is collected
    (md_production,) = project.attempts(V3_RUNNING, "md_production")
    assert md_production["status"] == "COMPLETED"
    assert "hpc.dev" in ok(project.matterstack("explain", V3_RUNNING)).stdout


def test_step_of_a_running_0_2_4_run_collects_its_finished_job(legacy):
    project = legacy("v1")

    ok(project.matterstack("step", V1_RUNNING))

    (phonons,) = project.attempts(V1_RUNNING, "phonons")
    assert phonons["status"] == "COMPLETED"
    (approve,) = project.attempts(V1_RUNNING, "approve_synthesis")
    assert approve["status"] == "WAITING_EXTERNAL"
