"""Which wiring a run uses, in 0.2.7's order: ``--operators-config`` > the run's snapshot >
the workspace's ``operators.yaml`` > ``$MATTERSTACK_OPERATORS_CONFIG`` > the legacy flags >
the embedded default; the source recorded under 0.2.7's names, refusals in the history."""

from __future__ import annotations

import json

import pytest
from wiring_kit import CHECKED, CountedBackend, Tasks, shell_task

from matterstack.errors import ConfigError
from matterstack.orchestrator.api import initialize_run
from matterstack.wiring import resolve_run_wiring
from matterstack.wiring.precedence import recorded_source
from matterstack.wiring.summary import render_summary, wiring_summary

WORKSPACE_FILE = """
    operators:
      local.default: {kind: local}
      hpc.atesting: {kind: hpc, backend: {type: local}}
"""
ENV_FILE = """
    operators:
      local.default: {kind: local}
      hpc.envonly: {kind: hpc}
"""
SITE_FILE = """
    operators:
      local.default: {kind: local}
      hpc.site: {kind: hpc}
"""
CLUSTER = """
    cluster:
      ssh: {host: login.example.edu, user: alice}
      paths: {remote_workspace: /scratch/alice/ms}
      slurm: {partition: amilan}
"""


@pytest.fixture
def handle(tmp_path):
    """A run of workspace ``ws`` (``<tmp>/workspaces/ws/runs/r1``), with no snapshot yet."""
    return initialize_run("ws", Tasks([shell_task("a", "hpc.atesting")]), base_path=tmp_path / "workspaces",
                          run_id="r1")


def metadata(handle) -> dict:
    return json.loads((handle.root_path / "operators_snapshot/metadata.json").read_text())


def history(handle) -> list[dict]:
    lines = (handle.root_path / "operators_snapshot/history.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_the_workspace_file_is_pinned_at_first_use_as_workspace_default(handle, write, host):
    own = write("workspaces/ws/operators.yaml", WORKSPACE_FILE)

    resolved = resolve_run_wiring(handle, host=host, environ={})

    assert resolved.source == "WORKSPACE_DEFAULT" and resolved.pinned
    assert "hpc.atesting" in resolved.wiring.instances
    assert (handle.root_path / "operators_snapshot/operators.yaml").read_bytes() == own.read_bytes()
    effective = metadata(handle)["effective"]
    assert effective["source"] == "WORKSPACE_DEFAULT" and effective["resolved_path"] == str(own.resolve())
    assert metadata(handle)["provenance"]["env_var_name"] == "MATTERSTACK_OPERATORS_CONFIG"
    (line,) = history(handle)
    assert (line["event"], line["source"], line["details"]) == ("WIRING_PERSISTED", "WORKSPACE_DEFAULT",
                                                                 {"note": "Initial persistence"})


def test_later_ticks_use_the_snapshot_even_after_the_workspace_file_changes(handle, write, host):
    write("workspaces/ws/operators.yaml", WORKSPACE_FILE)
    resolve_run_wiring(handle, host=host, environ={})

    write("workspaces/ws/operators.yaml", SITE_FILE)
    again = resolve_run_wiring(handle, host=host, environ={"MATTERSTACK_OPERATORS_CONFIG": str(write("e.yaml", ENV_FILE))})

    assert again.source == "RUN_PERSISTED" and "hpc.atesting" in again.wiring.instances
    assert "hpc.site" not in again.wiring.instances and len(history(handle)) == 1


def test_the_workspace_file_ranks_above_the_environment_variable(handle, write, host):
    write("workspaces/ws/operators.yaml", WORKSPACE_FILE)
    env_file = write("env/operators.yaml", ENV_FILE)

    resolved = resolve_run_wiring(handle, host=host, environ={"MATTERSTACK_OPERATORS_CONFIG": str(env_file)})

    assert resolved.source == "WORKSPACE_DEFAULT" and "hpc.envonly" not in resolved.wiring.instances


def test_the_environment_variable_is_used_without_a_workspace_file(handle, write, host):
    env_file = write("env/operators.yaml", ENV_FILE)

    resolved = resolve_run_wiring(handle, host=host, environ={"MATTERSTACK_OPERATORS_CONFIG": str(env_file)})

    assert resolved.source == "ENV_VAR" and "hpc.envonly" in resolved.wiring.instances
    assert metadata(handle)["effective"]["source"] == "ENV_VAR"
    assert metadata(handle)["effective"]["resolved_path"] == str(env_file.resolve())


def test_the_command_line_file_ranks_above_the_workspace_file(handle, write, host):
    write("workspaces/ws/operators.yaml", WORKSPACE_FILE)
    site = write("site/operators.yaml", SITE_FILE)

    resolved = resolve_run_wiring(handle, operators_config=site, host=host, environ={})

    assert resolved.source == "CLI_OVERRIDE" and "hpc.site" in resolved.wiring.instances
    assert metadata(handle)["effective"]["source"] == "CLI_OVERRIDE"


def test_each_tick_with_the_command_line_file_validates_it_once_and_gets_what_the_snapshot_holds(handle, write, host):
    host.pm.register(CountedBackend(), name="counted-test")
    site = write("site/operators.yaml", "operators: {hpc.lab: {kind: hpc, backend: {type: counted, queue: fast}}}")
    CHECKED.clear()

    first = resolve_run_wiring(handle, operators_config=site, host=host, environ={})
    second = resolve_run_wiring(handle, operators_config=site, host=host, environ={})

    assert CHECKED == ["fast", "fast"]  # once per tick: the file, not the snapshot too
    snapshot = resolve_run_wiring(handle, host=host, environ={})
    assert first.wiring == second.wiring == snapshot.wiring
    assert (first.pinned, second.source, second.resolved_path) == (True, "CLI_OVERRIDE", str(site.resolve()))

def test_a_different_command_line_file_is_refused_and_the_refusal_recorded(handle, write, host):
    write("workspaces/ws/operators.yaml", WORKSPACE_FILE)
    resolve_run_wiring(handle, host=host, environ={})
    pinned = (handle.root_path / "operators_snapshot/operators.yaml").read_bytes()
    site = write("site/operators.yaml", SITE_FILE)

    with pytest.raises(ConfigError, match="add --force-wiring-override to replace it"):
        resolve_run_wiring(handle, operators_config=site, host=host, environ={})

    assert (handle.root_path / "operators_snapshot/operators.yaml").read_bytes() == pinned
    persisted, refused = history(handle)
    assert refused["event"] == "WIRING_OVERRIDE_REFUSED" and refused["source"] == "CLI_OVERRIDE"
    assert refused["sha256"] == persisted["sha256"] and refused["resolved_path"] == str(site.resolve())
    assert refused["details"]["attempted_sha256"] != persisted["sha256"]
    summary = wiring_summary(handle, host=host)
    assert summary["refusals"] == 1 and summary["source"] == "WORKSPACE_DEFAULT"
    assert any("wiring override refused at" in line for line in render_summary(summary))


def test_legacy_flags_are_outranked_by_the_workspace_file_and_say_so(handle, write, host):
    write("workspaces/ws/operators.yaml", WORKSPACE_FILE)

    resolved = resolve_run_wiring(handle, hpc_config=write("curc.yaml", CLUSTER), host=host, environ={})

    assert resolved.source == "WORKSPACE_DEFAULT" and "hpc.atesting" in resolved.wiring.instances
    (note,) = resolved.notes
    assert note.startswith("--hpc-config is not used: WORKSPACE_DEFAULT ") and "--force-wiring-override" in note


def test_legacy_flags_decide_when_nothing_above_them_does(handle, write, host):
    resolved = resolve_run_wiring(handle, hpc_config=write("curc.yaml", CLUSTER), host=host, environ={})

    assert resolved.source == "LEGACY_HPC_CONFIG" and resolved.notes == ()
    assert resolved.wiring.instances["hpc.default"].settings.backend["type"] == "hpc_yaml"


def test_without_any_source_the_embedded_default_is_used_and_nothing_is_pinned(handle, host):
    resolved = resolve_run_wiring(handle, host=host, environ={})

    assert resolved.source == "embedded default" and not resolved.pinned
    assert not (handle.root_path / "operators_snapshot").exists()


def test_reading_without_pinning_writes_nothing_and_says_what_would_be_pinned(handle, write, host):
    own = write("workspaces/ws/operators.yaml", WORKSPACE_FILE)

    resolved = resolve_run_wiring(handle, host=host, environ={}, pin=False)

    assert resolved.source == "WORKSPACE_DEFAULT" and not resolved.pinned
    assert not (handle.root_path / "operators_snapshot").exists()
    assert recorded_source(handle, environ={}) == {"source": "WORKSPACE_DEFAULT", "source_file": str(own.resolve()),
                                                   "sha256": None, "snapshot": None, "pinned": False}
    (first, *_) = render_summary(wiring_summary(handle, host=host))
    assert first.startswith(f"wiring: WORKSPACE_DEFAULT: the workspace's operators.yaml {own.resolve()}")
    assert "not pinned yet" in first


def test_the_workspace_file_is_found_from_the_run_not_the_current_folder(handle, write, host, tmp_path, monkeypatch):
    write("workspaces/ws/operators.yaml", WORKSPACE_FILE)
    elsewhere = tmp_path / "somewhere/else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)

    assert resolve_run_wiring(handle, host=host, environ={}).source == "WORKSPACE_DEFAULT"


@pytest.mark.parametrize("which", ["workspace", "environment"])
def test_a_bad_file_is_refused_in_one_line_and_nothing_is_written(handle, write, host, which):
    bad = "operators:\n  hpc.dev: {kind: hpc, max_concurent: 2}\n"
    if which == "workspace":
        path, environ = write("workspaces/ws/operators.yaml", bad), {}
    else:
        path = write("env/operators.yaml", bad)
        environ = {"MATTERSTACK_OPERATORS_CONFIG": str(path)}

    with pytest.raises(ConfigError) as caught:
        resolve_run_wiring(handle, host=host, environ=environ)

    assert caught.value.one_line().startswith(f"{path}: operators.hpc.dev.max_concurent: unknown key")
    assert not (handle.root_path / "operators_snapshot").exists()


def test_an_environment_variable_naming_no_file_is_refused_with_the_variable_named(handle, tmp_path, host):
    missing = tmp_path / "nowhere.yaml"

    with pytest.raises(ConfigError) as caught:
        resolve_run_wiring(handle, host=host, environ={"MATTERSTACK_OPERATORS_CONFIG": str(missing)})

    assert caught.value.one_line() == (
        f"{missing}: operators file named by $MATTERSTACK_OPERATORS_CONFIG not found "
        "(fix: set MATTERSTACK_OPERATORS_CONFIG to the path of an existing operators.yaml, or unset it)")
