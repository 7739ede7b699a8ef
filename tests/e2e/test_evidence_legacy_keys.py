"""``export-evidence`` keeps this project's bundle and also writes the top-level keys of
MatterStack 0.2.x's ``bundle.json`` and its ``evidence/operators_snapshot/`` copy, so scripts
written against 0.2.x's evidence keep working: on a fresh run, and on 0.2.x runs whose
original evidence the new one must agree with."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from e2e_kit import LEGACY_RUNS, Project, copy_writable, ok

V2_COMPLETED = "20261124_142216_9bef32b1"
V3_UPGRADED = "20261124_142415_359cfb40"
LEGACY_KEYS = {"run_id": str, "workspace_slug": str, "generated_at": str, "run_status": str,
               "status_reason": (str, type(None)), "is_complete": bool, "task_counts": dict, "data": dict,
               "artifacts": dict, "report_content": str, "tags": list}
MAIN_PY = """
    from matterstack import Campaign, Task, Workflow

    class TwoSteps(Campaign):
        def plan(self, state):
            if state is None:
                return Workflow([Task(task_id="prepare", command="echo ready > ready.txt"),
                                 Task(task_id="report", command="echo done", dependencies={"prepare"})])
            return None

        def analyze(self, state, results):
            return {"done": True}

    def get_campaign():
        return TwoSteps()
"""
READER = """
    # What a 0.2.x user's script does with evidence/bundle.json.
    import json, sys
    bundle = json.load(open(sys.argv[1]))
    counts = bundle["task_counts"]
    print(bundle["run_id"], bundle["workspace_slug"], bundle["run_status"], bundle["status_reason"],
          "complete" if bundle["is_complete"] else "incomplete")
    print(f"{counts['completed']}/{counts['total']} tasks completed ({counts['failed']} failed, "
          f"{counts['cancelled']} cancelled)")
    for task_id, info in bundle["data"]["tasks"].items():
        attempts = [a["status"] for a in info["attempts"]]
        print(task_id, info["status"], info.get("operator_type", "-"), attempts,
              (info["current_attempt"] or {}).get("attempt_id"), sorted((info.get("results") or {}).get("output_data") or {}))
    print(sorted(bundle["artifacts"]), bundle["tags"])
    wiring = bundle["data"].get("operator_wiring")
    print(wiring and (wiring["source"], wiring["sha256"], wiring["resolved_path"]))
"""


@pytest.fixture
def reader(tmp_path):
    """``reader(bundle_path)``: what the 0.2.x user's script prints for that bundle."""
    script = tmp_path / "read_bundle.py"
    script.write_text(textwrap.dedent(READER))

    def read(bundle):
        return subprocess.run([sys.executable, str(script), str(bundle)], capture_output=True, text=True,
                              check=True).stdout

    return read


@pytest.fixture
def legacy(tmp_path, installed_matterstack):
    def copy(version: str) -> Project:
        project = Project(tmp_path / version, installed_matterstack)
        copy_writable(LEGACY_RUNS / version, project.workspaces)
        return project

    return copy


def test_a_fresh_runs_bundle_keeps_its_own_keys_and_carries_0_2_xs(project, reader):
    project.add_workspace("two", MAIN_PY)
    run_id = project.init("two")
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))

    ok(project.matterstack("export-evidence", run_id))
    evidence = project.run_dir(run_id) / "evidence"
    bundle = json.loads((evidence / "bundle.json").read_text())

    assert {"run", "counts", "tasks", "wiring"} <= set(bundle)
    for key, kind in LEGACY_KEYS.items():
        assert isinstance(bundle[key], kind), key
    assert (bundle["run_id"], bundle["workspace_slug"], bundle["run_status"]) == (run_id, "two", "COMPLETED")
    assert bundle["is_complete"] is True and bundle["report_content"] == "" and bundle["tags"] == []
    assert bundle["task_counts"] == {"total": 2, "completed": 2, "failed": 0, "cancelled": 0}
    assert bundle["generated_at"].endswith("Z") and bundle["generated_at"] >= bundle["run"]["created_at"][:19]
    prepare = bundle["data"]["tasks"]["prepare"]
    assert prepare["status"] == "COMPLETED" and prepare["current_attempt"]["attempt_index"] == 1
    assert prepare["operator_key"] == "local.default" and prepare["legacy_external_run"] is None
    assert (project.run_dir(run_id) / bundle["artifacts"]["prepare"] / "ready.txt").is_file()
    assert "operator_wiring" not in bundle["data"] and not (evidence / "operators_snapshot").exists()
    assert reader(evidence / "bundle.json").splitlines()[1] == "2/2 tasks completed (0 failed, 0 cancelled)"


def test_a_0_2_7_runs_new_bundle_reads_as_its_original_one_and_copies_the_snapshot(legacy, reader):
    project = legacy("v3")
    evidence = project.run_dir(V3_UPGRADED) / "evidence"
    original = json.loads((evidence / "bundle.json").read_text())
    original_said = reader(evidence / "bundle.json")

    ok(project.matterstack("export-evidence", V3_UPGRADED))
    bundle = json.loads((evidence / "bundle.json").read_text())

    assert reader(evidence / "bundle.json") == original_said
    for key in ("run_id", "workspace_slug", "run_status", "status_reason", "is_complete", "task_counts",
                "report_content", "tags"):
        assert bundle[key] == original[key], key
    assert bundle["data"]["operator_wiring"] == original["data"]["operator_wiring"]
    assert set(bundle["data"]["tasks"]) == set(original["data"]["tasks"])
    for task_id, info in original["data"]["tasks"].items():
        ours = bundle["data"]["tasks"][task_id]
        assert ours["results"] == info["results"] and ours["current_attempt"]["created_at"] == \
            info["current_attempt"]["created_at"], task_id
    assert bundle["generated_at"] < original["generated_at"]  # the newest record, not the clock
    snapshot = project.run_dir(V3_UPGRADED) / "operators_snapshot"
    for name in ("operators.yaml", "metadata.json", "history.jsonl"):
        assert (evidence / "operators_snapshot" / name).read_bytes() == (snapshot / name).read_bytes()


def test_a_0_2_5_run_without_a_snapshot_gets_the_same_counts_and_statuses(legacy, reader):
    project = legacy("v2")
    evidence = project.run_dir(V2_COMPLETED) / "evidence"
    original_said = reader(evidence / "bundle.json")

    ok(project.matterstack("export-evidence", V2_COMPLETED))

    assert reader(evidence / "bundle.json") == original_said
    assert not (evidence / "operators_snapshot").exists()


def test_a_0_2_6_runs_new_bundle_agrees_with_the_one_0_2_6_exported(tmp_path, installed_matterstack):
    # given the COMPLETED run 0.2.6 wrote (schema "4"), with the bundle 0.2.6 exported for it
    run_id = "20261207_021432_90261834"
    project = Project(tmp_path / "project", installed_matterstack)
    copy_writable(LEGACY_RUNS / "v4", project.workspaces)
    evidence = project.run_dir(run_id) / "evidence"
    original = json.loads((evidence / "bundle.json").read_text())

    # when it is exported again here
    ok(project.matterstack("export-evidence", run_id))

    # then every 0.2.x key says what 0.2.6 said, but the moment it was made and the report's text
    exported = json.loads((evidence / "bundle.json").read_text())
    assert "wiring" not in original and exported["wiring"]["source"] == "WORKSPACE_DEFAULT"
    for key in set(LEGACY_KEYS) - {"generated_at", "report_content"}:
        assert exported[key] == original[key], key
    assert sorted(p.name for p in (evidence / "operators_snapshot").iterdir()) == [
        "history.jsonl", "metadata.json", "operators.yaml"]
