"""The wiring flags and ``operators check`` through the installed ``matterstack`` command, in
subprocesses from a project folder, as a user runs them."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

MAIN_PY = """
    from matterstack import Campaign, Task, Workflow

    class OnDev(Campaign):
        def plan(self, state):
            if state is None:
                return Workflow([Task(task_id="job", command="pwd > where.txt", operator_key="hpc.dev")])
            return None

        def analyze(self, state, results):
            return {"done": True}

    def get_campaign():
        return OnDev()
"""
SITE = """
    operators:
      local.default: {kind: local}
      hpc.dev:
        kind: hpc
        backend: {type: local, workspace_root: scratch/dev}
"""
OTHER = """
    operators:
      local.default: {kind: local}
      hpc.dev: {kind: hpc, max_concurrent: 2}
"""


@pytest.fixture
def project(tmp_path, write):
    """A project folder with workspace ``demo`` and the site's ``site/operators.yaml``."""
    write("workspaces/demo/main.py", MAIN_PY)
    write("site/operators.yaml", SITE)
    return tmp_path


def run_id_of(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[1]


def history(project: Path, run_id: str) -> list[dict]:
    path = project / "workspaces/demo/runs" / run_id / "operators_snapshot/history.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def one_error_line(result) -> str:
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ") and "Traceback" not in result.stderr
    return line


def test_a_run_keeps_its_wiring_after_the_site_file_is_edited_or_deleted(project, cli):
    # given a run initialised with the site file
    run_id = run_id_of(cli("init", "demo", "--operators-config", "site/operators.yaml"))
    snapshot = project / "workspaces/demo/runs" / run_id / "operators_snapshot"
    assert (snapshot / "operators.yaml").read_bytes() == (project / "site/operators.yaml").read_bytes()

    # when the site file is edited (hpc.dev loses its root) and then deleted
    (project / "site/operators.yaml").write_text(textwrap.dedent(OTHER))
    assert cli("step", run_id).returncode == 0
    (project / "site/operators.yaml").unlink()
    loop = cli("loop", run_id, "--interval", "0.05")

    # then the run still used its snapshot: the job ran under hpc.dev's own root
    assert loop.returncode == 0, loop.stderr
    assert f"Run {run_id} COMPLETED" in loop.stdout
    attempt = json.loads(cli("attempts", run_id, "job", "--json").stdout)[0]
    assert attempt["operator_key"] == "hpc.dev"
    where = project / "workspaces/demo/runs" / run_id / attempt["path"] / "where.txt"
    assert where.read_text().strip() == str(project / "scratch/dev/demo" / run_id / "job" / attempt["attempt_id"])
    assert [event["event"] for event in history(project, run_id)] == ["WIRING_PERSISTED"]


def test_a_different_file_is_refused_unless_forced_and_the_override_is_explained_and_exported(project, cli, write):
    run_id = run_id_of(cli("init", "demo", "--operators-config", "site/operators.yaml"))
    write("site/other.yaml", OTHER)

    # the same file again is fine
    assert cli("step", run_id, "--operators-config", "site/operators.yaml").returncode == 0

    # a different file is refused in one line, exit code 2, and changes nothing
    refused = cli("step", run_id, "--operators-config", "site/other.yaml")
    line = one_error_line(refused)
    assert f"run {run_id}: the run's wiring (sha256" in line and "site/other.yaml" in line
    assert "add --force-wiring-override to replace it" in line
    assert "the run's wiring" in one_error_line(cli("loop", run_id, "--operators-config", "site/other.yaml"))
    assert [event["event"] for event in history(project, run_id)] == ["WIRING_PERSISTED"] + ["WIRING_OVERRIDE_REFUSED"] * 2

    # forced: replaced and recorded, shown by explain and in the evidence bundle
    forced = cli("step", run_id, "--operators-config", "site/other.yaml", "--force-wiring-override")
    assert forced.returncode == 0, forced.stderr
    persisted, _, _, override = history(project, run_id)
    assert override["event"] == "WIRING_OVERRIDE_FORCED" and override["details"]["prior_sha256"] == persisted["sha256"]
    explained = cli("explain", run_id)
    assert "wiring overridden at" in explained.stdout and "--force-wiring-override" in explained.stdout
    assert json.loads(cli("explain", run_id, "--json").stdout)["wiring"]["overrides"] == 1
    assert cli("export-evidence", run_id).returncode == 0
    bundle = json.loads((project / "workspaces/demo/runs" / run_id / "evidence/bundle.json").read_text())
    assert [e["event"] for e in bundle["wiring"]["history"]] == \
        ["WIRING_PERSISTED", "WIRING_OVERRIDE_REFUSED", "WIRING_OVERRIDE_REFUSED", "WIRING_OVERRIDE_FORCED"]
    assert bundle["wiring"]["instances"]["hpc.dev"] == {"kind": "hpc", "backend": "local", "max_concurrent": 2,
                                                        "root": "run directory"}
    report = (project / "workspaces/demo/runs" / run_id / "evidence/report.md").read_text()
    assert "- wiring: CLI_OVERRIDE: --operators-config" in report and "wiring overridden at" in report


def test_init_with_a_bad_file_is_refused_before_any_run_is_made(project, cli, write):
    write("site/bad.yaml", "operators:\n  hpc.dev:\n    kind: hpc\n    backend: {type: slurm, workspace_root: /s, slurm: {partition: [a]}}\n")

    line = one_error_line(cli("init", "demo", "--operators-config", "site/bad.yaml"))

    assert line == "Error: site/bad.yaml: operators.hpc.dev.backend.slurm.partition: expected a string, found a list"
    assert not (project / "workspaces/demo/runs").exists() or not any((project / "workspaces/demo/runs").iterdir())


def test_operators_check_prints_the_resolved_instances_as_a_table_and_as_json(project, cli, write):
    write("operators.yaml", """
        defaults: {operator: hpc.dev, max_concurrent: 8}
        operators:
          local.default: {kind: local}
          hpc.dev: {kind: hpc, max_concurrent: 2, backend: {type: local, workspace_root: /scratch/dev}}
          hpc.big: {kind: hpc, backend: {type: slurm, workspace_root: /scratch/big, slurm: {partition: gpu}}}
          human.default: {kind: human}
    """)

    table = cli("operators", "check", "operators.yaml")
    report = json.loads(cli("operators", "check", "operators.yaml", "--json").stdout)

    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "operators.yaml: valid, 4 instance(s); default operator hpc.dev; global max_concurrent 8"
    assert lines[1].split() == ["KEY", "KIND", "BACKEND", "MAX_CONCURRENT", "ROOT"]
    assert [line.split() for line in lines[2:]] == [
        ["local.default", "local", "-", "-", "run", "directory"],
        ["hpc.dev", "hpc", "local", "2", "/scratch/dev"],
        ["hpc.big", "hpc", "slurm", "-", "/scratch/big"],
        ["human.default", "human", "-", "-", "run", "directory"],
    ]
    assert report["default_operator"] == "hpc.dev" and report["max_concurrent"] == 8
    assert report["instances"][2] == {"key": "hpc.big", "kind": "hpc", "backend": "slurm", "max_concurrent": None,
                                      "root": "/scratch/big"}
    assert not list(project.glob("workspaces/demo/runs/*"))


def test_operators_check_reports_one_error_line_and_exit_code_2(project, cli, write):
    write("site/typo.yaml", "operators: {hpc.dev: {kind: hpc, max_concurent: 2}}")

    line = one_error_line(cli("operators", "check", "site/typo.yaml"))

    assert line == ("Error: site/typo.yaml: operators.hpc.dev.max_concurent: unknown key "
                    "(fix: did you mean 'max_concurrent'? otherwise remove it; "
                    "known keys: backend, kind, max_concurrent, operator_name, slug)")
    assert "operators file not found" in one_error_line(cli("operators", "check", "operators.yaml"))


def test_operators_check_resolves_profile_backends(project, cli, write):
    write("matterstack.yaml", "profiles: {dev-cluster: {type: local, workspace_root: /scratch/profiled}}")
    write("operators.yaml", "operators: {hpc.dev: {kind: hpc, backend: {type: profile, name: dev-cluster}}}")

    report = json.loads(cli("operators", "check", "operators.yaml", "--json").stdout)
    table = cli("operators", "check", "operators.yaml").stdout

    assert report["instances"][0]["profile"] == {"name": "dev-cluster", "type": "local",
                                                 "file": str(project / "matterstack.yaml")}
    assert report["instances"][0]["root"] == "/scratch/profiled"
    assert "profile:dev-cluster (local)" in table
    write("operators.yaml", "operators: {hpc.dev: {kind: hpc, backend: {type: profile, name: nope}}}")
    assert "profile 'nope' is not defined" in one_error_line(cli("operators", "check", "operators.yaml"))


def test_profile_flag_uses_the_project_profile_over_the_users(project, cli, write):
    # given the same profile name in the user file and the project file
    write("home/.matterstack/config.yaml", f"profiles: {{dev: {{type: local, workspace_root: {project / 'user-root'}}}}}")
    write("matterstack.yaml", f"profiles: {{dev: {{type: local, workspace_root: {project / 'project-root'}}}}}")
    write("workspaces/demo/main.py", MAIN_PY.replace('operator_key="hpc.dev"', 'operator_key="hpc.default"'))

    # when a run is made with --profile dev and looped to the end
    run_id = run_id_of(cli("init", "demo", "--profile", "dev"))
    loop = cli("loop", run_id, "--interval", "0.05")

    # then hpc.default ran the job under the project profile's root
    assert loop.returncode == 0, loop.stderr
    attempt = json.loads(cli("attempts", run_id, "job", "--json").stdout)[0]
    where = (project / "workspaces/demo/runs" / run_id / attempt["path"] / "where.txt").read_text().strip()
    assert where.startswith(str(project / "project-root/demo" / run_id))
    metadata = json.loads((project / "workspaces/demo/runs" / run_id / "operators_snapshot/metadata.json").read_text())
    assert metadata["effective"]["source"] == "LEGACY_PROFILE" and metadata["provenance"]["legacy"]["profile"] == "dev"


def test_profile_with_config_reads_that_file_alone(project, cli, write):
    write("matterstack.yaml", "profiles: {dev: {type: local}}")
    write("site/profiles.yaml", "profiles: {other: {type: local}}")

    line = one_error_line(cli("init", "demo", "--profile", "dev", "--config", "site/profiles.yaml"))

    assert "profile 'dev' is not defined (looked in site/profiles.yaml; defined: other)" in line


def test_hpc_config_wires_hpc_default_to_the_legacy_cluster_file(project, cli, write):
    write("workspaces/demo/main.py", MAIN_PY.replace('operator_key="hpc.dev"', 'operator_key="local.default"'))
    cluster = write("site/curc.yaml", """
        cluster:
          ssh: {host: login.curc.edu, user: alice}
          paths: {remote_workspace: /scratch/alice/ms}
          slurm: {partition: amilan}
    """)

    run_id = run_id_of(cli("init", "demo", "--hpc-config", "site/curc.yaml", "--profile", "ignored"))

    snapshot = project / "workspaces/demo/runs" / run_id / "operators_snapshot/operators.yaml"
    report = json.loads(cli("operators", "check", snapshot, "--json").stdout)
    hpc = next(row for row in report["instances"] if row["key"] == "hpc.default")
    assert hpc["backend"] == "hpc_yaml"
    assert f"path: {cluster.resolve()}" in snapshot.read_text()
    step = cli("step", run_id, "--hpc-config", "site/curc.yaml")
    assert step.returncode == 0, step.stderr
