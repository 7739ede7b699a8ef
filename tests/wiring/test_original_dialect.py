"""operators.yaml in the original MatterStack's (0.2.x) dialect: what 0.2.x accepted loads
with its meaning, old spellings are notes, a typo stays an error naming the nearest key, and
files 0.2.x wrote (cluster files, its run snapshots) warn about the keys it ignored."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import attrs
import pytest

from matterstack.errors import ConfigError
from matterstack.plugins import PluginHost
from matterstack.plugins.backend_interfaces import JobSpec
from matterstack.wiring.document import load_operators_file
from matterstack.wiring.snapshot import snapshot_wiring
from matterstack_ops_slurm import scheduler
from matterstack_ops_slurm.hpc_yaml import load_cluster_file

FILES = Path(__file__).parent / "original_dialect"
LEGACY_RUNS = Path(__file__).parents[1] / "fixtures" / "legacy-runs"
MATTERSTACK = Path(sys.executable).parent / "matterstack"


@pytest.fixture
def plugins() -> PluginHost:
    return PluginHost.load(environ={})


@pytest.fixture
def yaml_file(tmp_path):
    def write(text: str, name: str = "operators.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


def load(path: Path, host: PluginHost):
    notes = []
    wiring = load_operators_file(path, host, notes=notes)
    return wiring, [note.one_line() for note in notes]


def refusal(path: Path, host: PluginHost) -> str:
    with pytest.raises(ConfigError) as raised:
        load_operators_file(path, host)
    return raised.value.one_line()


def script_of(slurm_block: dict, host: PluginHost, yaml_file) -> list[str]:
    """The ``#SBATCH`` lines a slurm instance with ``slurm_block`` writes for a bare task."""
    path = yaml_file(json.dumps({"operators": {"hpc.c": {"kind": "hpc", "backend": {
        "type": "slurm", "workspace_root": "/scratch/x", "slurm": slurm_block}}}}))
    wiring, _ = load(path, host)
    from matterstack.plugins import structure_settings
    from matterstack_ops_slurm.register import SlurmBackendSettings

    block = {k: v for k, v in wiring.instances["hpc.c"].settings.backend.items() if k != "type"}
    settings = structure_settings(SlurmBackendSettings, block, where="test")
    job = JobSpec(token="t1", command="true", input_dir=Path("."), relative_dir="tasks/t/attempts/a")
    return [line for line in scheduler.submit_script(job, settings.slurm).splitlines() if line.startswith("#SBATCH")]


@pytest.mark.parametrize("name", sorted(p.name for p in FILES.glob("*.yaml")))
def test_every_reconstructed_0_2_x_file_passes_operators_check(name):
    result = subprocess.run([str(MATTERSTACK), "operators", "check", str(FILES / name)],
                            capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout.splitlines()[0]


def test_local_kind_accepts_a_local_backend_block(plugins, yaml_file):
    wiring, _ = load(yaml_file("operators: {local.default: {kind: local, backend: {type: local, dry_run: true}}}"),
                     plugins)

    assert wiring.instances["local.default"].settings.backend == {"type": "local", "dry_run": True}


def test_local_kind_refuses_any_other_backend_type(plugins, yaml_file):
    message = refusal(yaml_file("operators: {local.x: {kind: local, backend: {type: slurm, workspace_root: /s}}}"),
                      plugins)

    assert "operators.local.x.backend.type: kind 'local' takes only backend type local" in message


def test_max_concurrent_global_is_read_as_max_concurrent_with_a_note(plugins):
    wiring, notes = load(FILES / "workspace_default.yaml", plugins)

    assert wiring.max_concurrent == 8
    assert any("defaults.max_concurrent_global is the 0.2.x spelling of max_concurrent" in n for n in notes)


def test_both_names_of_the_global_cap_with_different_values_are_refused(plugins, yaml_file):
    path = yaml_file("defaults: {max_concurrent: 3, max_concurrent_global: 4}\noperators: {local.a: {kind: local}}")

    assert "defaults.max_concurrent_global: given twice" in refusal(path, plugins)


def test_slug_and_operator_name_load_and_only_inform(plugins):
    wiring, notes = load(FILES / "slurm_site.yaml", plugins)

    assert wiring.instances["hpc.cluster"].kind == "hpc"
    assert any("operators.hpc.cluster.operator_name is 0.2.x's name for the operator (HPC)" in n for n in notes)


def test_operator_name_that_is_not_a_string_names_its_key_path(plugins, yaml_file):
    message = refusal(yaml_file("operators: {hpc.a: {kind: hpc, operator_name: [HPC]}}"), plugins)

    assert "operators.hpc.a.operator_name: expected a string, found a list" in message


def test_experiment_api_block_keeps_the_sites_own_keys_and_the_file_exchange(plugins):
    wiring, _ = load(FILES / "lab_api.yaml", plugins)

    api = wiring.instances["experiment.default"].settings.api
    assert api.base_url is None
    assert api.site == {"gateway": "lab-gateway.example", "instrument": "xrd-2", "retries": 3}


@pytest.mark.parametrize(("api", "expected"), [
    ({"base_url": "http://lab", "tokn_env": "LAB"}, "api.tokn_env: unknown key (fix: did you mean 'token_env'?"),
    ({"gateway": "lab", "base_ur": "http://lab"}, "api.base_ur: unknown key (fix: did you mean 'base_url'?"),
    ({"token_env": "LAB"}, "api: base_url is missing, and token_env is only sent over HTTP"),
])
def test_an_api_block_refuses_a_near_miss_of_its_own_keys_and_a_token_without_a_url(plugins, yaml_file, api, expected):
    path = yaml_file(json.dumps({"operators": {"experiment.default": {"kind": "experiment", "api": api}}}))

    message = refusal(path, plugins)

    assert f"operators.experiment.default.{expected}" in message


def test_a_snapshot_0_2_x_wrote_keeps_a_near_miss_in_its_api_block_as_the_sites_own(tmp_path, plugins):
    # given a run whose 0.2.x snapshot has an api block: 0.2.x read none of its keys
    handle = run_with_snapshot(tmp_path, """
        operators:
          experiment.default:
            kind: experiment
            api: {base_ur: lab-gateway.example}
    """, ORIGINAL_METADATA)

    # when its wiring is read
    wiring = snapshot_wiring(handle, host=plugins)

    # then the key is the site's, and requests are files as they were
    api = wiring.instances["experiment.default"].settings.api
    assert api.site == {"base_ur": "lab-gateway.example"} and api.base_url is None


def test_sbatch_spellings_and_other_long_options_become_directives(plugins, yaml_file):
    lines = script_of({"cpus-per-task": 8, "mem": "32G", "gres": "gpu:1", "constraint": "ib", "exclusive": True,
                       "mail-user": "alice@example.org", "mail_type": "END", "requeue": False}, plugins, yaml_file)

    for line in ("#SBATCH --cpus-per-task=8", "#SBATCH --mem=32G", "#SBATCH --gres=gpu:1", "#SBATCH --constraint=ib",
                 "#SBATCH --exclusive", "#SBATCH --mail-user=alice@example.org", "#SBATCH --mail-type=END"):
        assert line in lines
    assert not any("requeue" in line for line in lines)


@pytest.mark.parametrize(("block", "expected"), [
    ({"constraint": "a\nb"}, "sbatch --constraint 'a\\nb' has characters sbatch cannot take in a directive"),
    ({"requeue": "always"}, "sbatch --requeue takes no value"),
    ({"job-name": "mine"}, "sbatch --job-name cannot be set here"),
    ({"mem": "8G", "memory_gb": 8}, "memory_gb and mem are the same sbatch directive"),
    ({"cpus-per-task": 4, "cpus_per_task": 8}, "slurm.cpus_per_task: given twice"),
    ({"partiton": "dev"}, "slurm.partiton: unknown key (fix: did you mean 'partition'?"),
    ({"options": {"constraint": "ib"}}, "slurm.options: unknown key (fix: remove it;"),
    ({"nodes": "many"}, "slurm.nodes: expected an integer, found a string"),
])
def test_a_slurm_block_sbatch_cannot_take_is_one_error_with_its_key_path(plugins, yaml_file, block, expected):
    path = yaml_file(json.dumps({"operators": {"hpc.c": {"kind": "hpc", "backend": {
        "type": "slurm", "workspace_root": "/s", "slurm": block}}}}))

    message = refusal(path, plugins)

    assert "operators.hpc.c.backend.slurm" in message and expected in message


@pytest.mark.parametrize("backend", [
    {"type": "local"}, {"type": "slurm", "workspace_root": "/s"}, {"type": "hpc_yaml", "path": "cluster.yaml"},
    {"type": "profile", "name": "dev"},
])
def test_dry_run_is_accepted_on_every_compute_backend(plugins, yaml_file, backend):
    wiring, _ = load(yaml_file(json.dumps({"operators": {"hpc.a": {"kind": "hpc", "backend": {**backend, "dry_run": True}}}})),
                     plugins)

    assert wiring.instances["hpc.a"].settings.backend["dry_run"] is True


def test_an_unknown_instance_key_suggests_the_nearest_one(plugins, yaml_file):
    message = refusal(yaml_file("operators: {hpc.a: {kind: hpc, max_concurent: 2}}"), plugins)

    assert "operators.hpc.a.max_concurent: unknown key (fix: did you mean 'max_concurrent'?" in message


def test_cluster_file_keys_0_2_x_ignored_are_warnings(tmp_path):
    path = tmp_path / "curc.yaml"
    path.write_text(textwrap.dedent("""
        cluster:
          ssh: {host: login.example.org, user: alice}
          paths: {remote_workspace: /scratch/alice, local_results: ./results}
          slurm: {partition: amilan, cpus-per-task: 4}
        notes_for_people: shared by the group
    """))
    notes = []

    settings = load_cluster_file(path, notes)

    assert settings.workspace_root == "/scratch/alice" and settings.slurm.cpus_per_task == 4
    lines = [note.one_line() for note in notes]
    assert f"warning: {path}: cluster.paths.local_results is ignored: MatterStack 0.2.x ignored it too" in lines
    assert f"warning: {path}: notes_for_people is ignored: MatterStack 0.2.x ignored it too" in lines


def run_with_snapshot(tmp_path: Path, snapshot: str, metadata: dict) -> object:
    run_dir = tmp_path / "run"
    (run_dir / "operators_snapshot").mkdir(parents=True)
    (run_dir / "operators_snapshot" / "operators.yaml").write_text(textwrap.dedent(snapshot))
    (run_dir / "operators_snapshot" / "metadata.json").write_text(json.dumps(metadata))

    @attrs.frozen
    class Handle:
        root_path: Path

    return Handle(run_dir)


ORIGINAL_METADATA = {"schema_version": 1, "effective": {"source": "CLI_OVERRIDE", "resolved_path": "/tmp/site.yaml"}}
SNAPSHOT_WITH_IGNORED_KEY = """
    operators:
      hpc.cluster:
        kind: hpc
        backend:
          type: slurm
          workspace_root: /scratch/a
          ssh: {host: login, user: a}
          slurm: {partition: amilan, scratch_quota: 10T}
"""


def test_a_snapshot_0_2_x_wrote_warns_about_keys_it_ignored_instead_of_refusing(tmp_path, plugins):
    handle = run_with_snapshot(tmp_path, SNAPSHOT_WITH_IGNORED_KEY, ORIGINAL_METADATA)

    wiring = snapshot_wiring(handle, host=plugins)

    assert "scratch_quota" not in wiring.instances["hpc.cluster"].settings.backend["slurm"]


def test_a_snapshot_this_project_wrote_still_refuses_an_unknown_key(tmp_path, plugins):
    handle = run_with_snapshot(tmp_path, SNAPSHOT_WITH_IGNORED_KEY, {**ORIGINAL_METADATA, "written_by": "matterstack"})

    with pytest.raises(ConfigError, match="slurm.scratch_quota: unknown key"):
        snapshot_wiring(handle, host=plugins)


def test_operators_check_prints_a_note_per_old_spelling_and_exits_0():
    result = subprocess.run([str(MATTERSTACK), "operators", "check", str(FILES / "slurm_site.yaml")],
                            capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert (f"note: {FILES / 'slurm_site.yaml'}: operators.hpc.cluster.backend.slurm.cpus-per-task "
            "is the 0.2.x spelling of cpus_per_task") in result.stdout.splitlines()


def test_step_on_the_running_0_2_7_run_reads_its_snapshot(tmp_path):
    shutil.copytree(LEGACY_RUNS / "v3", tmp_path / "workspaces")

    result = subprocess.run([str(MATTERSTACK), "step", "20261124_142443_89d0213d"], cwd=tmp_path,
                            capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Run 20261124_142443_89d0213d: RUNNING")
