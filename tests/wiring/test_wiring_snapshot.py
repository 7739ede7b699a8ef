"""The run keeps its wiring: ``operators_snapshot/`` written at first use (the 0.2.7 layout),
used by every later tick, a different file refused unless forced, and forced overrides
recorded, explained and put in the evidence."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from wiring_kit import Tasks, shell_task

from matterstack.errors import ConfigError, RunLockedError
from matterstack.orchestrator.api import build_registry, initialize_run, step_run
from matterstack.orchestrator.evidence import build_bundle
from matterstack.orchestrator.explain import explain, render
from matterstack.orchestrator.handle import RunHandle
from matterstack.plugins import PluginHost
from matterstack.store import RunLock, StateStore
from matterstack.wiring import load_run_wiring, wiring_request, wiring_summary
from matterstack.wiring.summary import render_summary

V3_RUN = Path(__file__).resolve().parents[1] / "fixtures/legacy-runs/v3/polymer_dft/runs/20261124_142443_89d0213d"
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
FIRST = """
    # the site's wiring
    operators:
      hpc.default: {kind: hpc}
      hpc.dev: {kind: hpc, backend: {type: local, workspace_root: dev-root}}
"""
SECOND = """
    operators:
      hpc.default: {kind: hpc, max_concurrent: 4}
"""


@pytest.fixture
def handle(tmp_path):
    return initialize_run("ws", Tasks([shell_task("a", "hpc.dev")]), base_path=tmp_path / "workspaces", run_id="r1")


def snapshot_files(handle) -> dict[str, bytes]:
    folder = handle.root_path / "operators_snapshot"
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def history(handle) -> list[dict]:
    return [json.loads(line) for line in (handle.root_path / "operators_snapshot/history.jsonl").read_text().splitlines()]


def test_the_first_file_given_is_snapshotted_in_the_0_2_7_layout(handle, write, host):
    site = write("site/operators.yaml", FIRST)

    wiring = load_run_wiring(handle, operators_config=site, host=host)

    assert sorted(wiring.instances) == ["hpc.default", "hpc.dev"]
    files = snapshot_files(handle)
    assert set(files) == {"operators.yaml", "metadata.json", "history.jsonl"}
    assert files["operators.yaml"] == site.read_bytes()
    digest = hashlib.sha256(site.read_bytes()).hexdigest()
    metadata = json.loads(files["metadata.json"])
    assert metadata["schema_version"] == 1 and metadata["history_relpath"] == "operators_snapshot/history.jsonl"
    assert metadata["effective"] == {"source": "CLI_OVERRIDE", "resolved_path": str(site.resolve()), "sha256": digest,
                                     "snapshot_relpath": "operators_snapshot/operators.yaml"}
    assert metadata["provenance"]["cli"] == {"operators_config": str(site.resolve()), "force_wiring_override": False}
    assert metadata["provenance"]["workspace_slug"] == "ws"
    assert STAMP.match(metadata["created_at_utc"]) and STAMP.match(metadata["updated_at_utc"])
    (event,) = history(handle)
    assert event["event"] == "WIRING_PERSISTED" and event["sha256"] == digest and STAMP.match(event["at_utc"])
    assert wiring.sha256 == digest and wiring.source_file == str(site.resolve())


def test_the_run_keeps_its_wiring_after_the_site_file_is_edited_or_deleted(handle, write, host):
    site = write("site/operators.yaml", FIRST)
    first = load_run_wiring(handle, operators_config=site, host=host)

    site.write_text(SECOND)
    after_edit = load_run_wiring(handle, host=host)
    site.unlink()
    after_delete = load_run_wiring(handle, host=host)

    assert after_edit.instances == first.instances == after_delete.instances
    assert after_delete.source == str(handle.root_path / "operators_snapshot/operators.yaml")


def test_the_same_file_again_is_fine_and_records_nothing(handle, write, host):
    site = write("site/operators.yaml", FIRST)
    load_run_wiring(handle, operators_config=site, host=host)
    before = snapshot_files(handle)

    again = load_run_wiring(handle, operators_config=site, host=host)

    assert snapshot_files(handle) == before and sorted(again.instances) == ["hpc.default", "hpc.dev"]


def test_a_different_file_is_refused_in_one_line_and_changes_only_the_history(handle, write, host):
    site = write("site/operators.yaml", FIRST)
    load_run_wiring(handle, operators_config=site, host=host)
    before = snapshot_files(handle)
    other = write("other.yaml", SECOND)

    with pytest.raises(ConfigError) as caught:
        load_run_wiring(handle, operators_config=other, host=host)

    message = caught.value.one_line()
    assert message.startswith("run r1: the run's wiring (sha256 ")
    assert str(other.resolve()) in message and "--force-wiring-override" in message
    assert caught.value.exit_code == 2
    after = snapshot_files(handle)
    assert {name: after[name] for name in ("operators.yaml", "metadata.json")} == \
        {name: before[name] for name in ("operators.yaml", "metadata.json")}
    assert [event["event"] for event in history(handle)] == ["WIRING_PERSISTED", "WIRING_OVERRIDE_REFUSED"]


def test_a_forced_override_replaces_the_snapshot_and_is_recorded(handle, write, host):
    site = write("site/operators.yaml", FIRST)
    load_run_wiring(handle, operators_config=site, host=host)
    created = json.loads(snapshot_files(handle)["metadata.json"])["created_at_utc"]
    other = write("other.yaml", SECOND)

    wiring = load_run_wiring(handle, operators_config=other, force_override=True, host=host)

    assert list(wiring.instances) == ["hpc.default"] and wiring.instances["hpc.default"].max_concurrent == 4
    assert snapshot_files(handle)["operators.yaml"] == other.read_bytes()
    metadata = json.loads(snapshot_files(handle)["metadata.json"])
    assert metadata["created_at_utc"] == created
    assert metadata["provenance"]["cli"]["force_wiring_override"] is True
    persisted, forced = history(handle)
    assert forced["event"] == "WIRING_OVERRIDE_FORCED"
    assert forced["details"] == {"prior_sha256": persisted["sha256"]}
    assert forced["sha256"] == hashlib.sha256(other.read_bytes()).hexdigest()
    summary = wiring_summary(handle, host=host)
    assert summary["overrides"] == 1 and summary["history"] == [persisted, forced]
    assert any("wiring overridden at" in line and str(other.resolve()) in line for line in render_summary(summary))


def test_a_run_another_process_is_stepping_gets_no_new_snapshot(handle, write, host):
    site = write("site/operators.yaml", FIRST)

    with RunLock(handle.root_path), pytest.raises(RunLockedError):
        load_run_wiring(handle, operators_config=site, host=host)

    assert not (handle.root_path / "operators_snapshot").exists()


def test_a_bad_file_is_refused_before_anything_is_written(handle, write, host):
    bad = write("bad.yaml", "operators: {hpc.dev: {kind: hpc, colour: red}}")

    with pytest.raises(ConfigError, match=r"bad\.yaml: operators\.hpc\.dev\.colour: unknown key"):
        load_run_wiring(handle, operators_config=bad, host=host)

    assert not (handle.root_path / "operators_snapshot").exists()


def test_without_flags_or_snapshot_the_run_uses_the_embedded_default(handle, host):
    wiring = load_run_wiring(handle, host=host)

    assert {"local.default", "hpc.default", "human.default"} <= set(wiring.instances)
    assert wiring.source == "embedded default"
    assert not (handle.root_path / "operators_snapshot").exists()
    summary = wiring_summary(handle, host=host)
    assert summary["source"] == "embedded default" and summary["snapshot"] is None and summary["history"] == []
    assert summary["instances"]["hpc.default"] == {"kind": "hpc", "backend": "local", "max_concurrent": None,
                                                   "root": "run directory"}
    assert summary["instances"]["human.default"]["backend"] is None


def test_step_run_from_python_uses_the_snapshot(tmp_path, handle, write, monkeypatch):
    # given a run whose snapshot has hpc.dev (the embedded default has no such key)
    monkeypatch.chdir(tmp_path)
    load_run_wiring(handle, operators_config=write("site/operators.yaml", FIRST))
    (tmp_path / "site/operators.yaml").unlink()
    campaign = Tasks([shell_task("a", "hpc.dev")])

    # when the run is stepped through the public API, with no registry
    for _ in range(200):
        if step_run(handle, campaign).is_terminal:
            break

    # then task a ran on hpc.dev, in hpc.dev's root (relative to the current folder)
    with StateStore.open(handle.db_path, readonly=True) as store:
        (attempt,) = store.attempts_for_task("a")
    assert attempt.operator_key == "hpc.dev"
    assert (tmp_path / "dev-root/ws/r1/a" / attempt.attempt_id / "where.txt").is_file()


def test_explain_and_the_evidence_bundle_carry_the_wiring(handle, write, host):
    site = write("site/operators.yaml", FIRST)
    registry = build_registry(handle, load_run_wiring(handle, operators_config=site, host=host), host=host)
    summary = wiring_summary(handle, host=host)

    with StateStore.open(handle.db_path) as store:
        explanation = explain(handle, store, registry)
        bundle = build_bundle(handle, store, summary)

    assert explanation.wiring == summary == bundle["wiring"]
    assert summary["source"] == "CLI_OVERRIDE" and summary["source_file"] == str(site.resolve())
    assert summary["snapshot"] == "operators_snapshot/operators.yaml"
    assert summary["instances"] == {
        "hpc.default": {"kind": "hpc", "backend": "local", "max_concurrent": None, "root": "run directory"},
        "hpc.dev": {"kind": "hpc", "backend": "local", "max_concurrent": None, "root": "dev-root"},
    }
    assert f"wiring: CLI_OVERRIDE: --operators-config {site.resolve()} (sha256 {summary['sha256'][:12]})" in render(explanation)
    registry.close()


def test_a_0_2_7_snapshot_is_read_as_the_runs_wiring(tmp_path, host):
    run_dir = tmp_path / "workspaces/polymer_dft/runs" / V3_RUN.name
    shutil.copytree(V3_RUN, run_dir)
    handle = RunHandle.from_run_dir(run_dir)

    wiring = load_run_wiring(handle, host=host)
    summary = wiring_summary(handle, wiring, host=host)

    assert list(wiring.instances) == ["hpc.default", "hpc.dev", "human.default", "experiment.default"]
    assert wiring.instances["hpc.dev"].settings.backend == {
        "type": "local", "workspace_root": "workspaces/polymer_dft/scratch/hpc-dev"}
    assert wiring.source_file == "/tmp/ms-f04323b/workspaces/polymer_dft/site/operators.yaml"
    assert summary["sha256"] == "a5ad827764bea654317f92915a239e03c779489fe038c5a1e260011a67cc6a0c"
    assert [event["event"] for event in summary["history"]] == ["WIRING_PERSISTED"]


def test_a_snapshot_that_no_longer_validates_names_the_snapshot_and_keeps_its_history(tmp_path, handle, write, host):
    load_run_wiring(handle, operators_config=write("site/operators.yaml",
                                                   "operators: {approval.default: {kind: approval}}"), host=host)
    without_plugin = PluginHost.load(environ={})

    with pytest.raises(ConfigError) as caught:
        load_run_wiring(handle, host=without_plugin)
    summary = wiring_summary(handle, host=without_plugin)

    snapshot = handle.root_path / "operators_snapshot/operators.yaml"
    assert caught.value.one_line().startswith(f"{snapshot}: operators.approval.default.kind: operator kind 'approval'")
    assert summary["instances"] is None and summary["error"] == caught.value.one_line()
    assert [event["event"] for event in summary["history"]] == ["WIRING_PERSISTED"]


def test_a_request_is_validated_without_a_run(write, host):
    request = wiring_request(operators_config=write("operators.yaml", FIRST), host=host)

    assert request.source == "CLI_OVERRIDE" and sorted(request.wiring.instances) == ["hpc.default", "hpc.dev"]
    assert wiring_request(host=host) is None
