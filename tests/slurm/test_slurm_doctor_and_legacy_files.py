"""``matterstack doctor``'s checks of slurm instances against the real clusters, the legacy
cluster file (backend ``hpc_yaml``), and slurm settings given as a profile."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from matterstack.cli.doctor import instance_checks
from matterstack.errors import ConfigError
from matterstack.orchestrator.operator_registry import OperatorRegistry
from matterstack.plugins import OperatorContext, get_plugin_host, structure_settings
from matterstack.wiring import load_wiring
from slurm_helpers import follow, job_spec
from slurm_runs import MATTERSTACK, write_operators_yaml

CHECKS = ["ssh", "sinfo", "partition", "accounting", "account", "MinJobAge", "sbatch", "workspace_root"]


def checks_of(tmp_path, instances: dict) -> dict:
    host = get_plugin_host()
    wiring = load_wiring(write_operators_yaml(tmp_path / "operators.yaml", instances), host)
    registry = OperatorRegistry(wiring, host, lambda: OperatorContext("doctor", tmp_path, "doctor", host))
    try:
        return {key: {name: (ok, detail) for name, ok, detail in checks} for key, checks in instance_checks(registry).items()}
    finally:
        registry.close()


def test_doctor_passes_every_check_of_a_well_configured_instance(accounting_cluster, tmp_path):
    block = {"type": "slurm", **accounting_cluster.backend_block("ssh", tmp_path / "remote", partition="debug", account="chem")}

    checks = checks_of(tmp_path, {"hpc.default": block})["hpc.default"]

    assert list(checks) == CHECKS and all(ok for ok, _ in checks.values()), checks
    assert checks["accounting"][1] == "slurmdbd: sacct has every job"
    assert checks["account"][1].startswith("account chem exists (users: root)")
    assert checks["MinJobAge"][1].startswith("MinJobAge 5 s")


def test_doctor_names_a_missing_partition_and_a_site_without_accounting_database(jobcomp_cluster, tmp_path, on_cluster):
    on_cluster(jobcomp_cluster)
    block = {"type": "slurm", **jobcomp_cluster.backend_block("local", tmp_path / "remote", partition="nosuch", account="chem")}

    checks = checks_of(tmp_path, {"hpc.dev": block})["hpc.dev"]

    assert checks["shell"] == (True, "connected to local shell")
    assert checks["partition"] == (False, "partition nosuch does not exist (there are: debug, dev)")
    assert checks["accounting"] == (True, "completion records only (sacct -c)")
    assert checks["account"][1].startswith("chem: not checked")
    assert checks["sbatch"][0] is False


def test_doctor_says_once_that_an_unreachable_cluster_was_not_checked(jobcomp_cluster, tmp_path):
    block = {"type": "slurm", **jobcomp_cluster.backend_block("ssh", tmp_path / "remote")}
    block["ssh"]["port"] = 1

    checks = checks_of(tmp_path, {"hpc.default": block})["hpc.default"]

    assert checks["ssh"][0] is False and "cannot reach 127.0.0.1:1 (connection refused)" in checks["ssh"][1]
    assert checks["slurm"] == (False, "not checked: the cluster cannot be reached")


def test_doctor_command_prints_one_line_per_check_of_each_slurm_instance(accounting_cluster, jobcomp_cluster, tmp_path):
    operators = write_operators_yaml(tmp_path / "operators.yaml", {
        "hpc.default": {"type": "slurm", **accounting_cluster.backend_block("ssh", tmp_path / "a", partition="debug")},
        "hpc.dev": {"type": "slurm", **jobcomp_cluster.backend_block("ssh", tmp_path / "b", partition="dev")},
    })

    done = subprocess.run([str(MATTERSTACK), "doctor", "--operators-config", str(operators)], capture_output=True,
                          text=True, env=jobcomp_cluster.command_env(), timeout=300)
    lines = done.stdout.splitlines()

    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split()[:3] for line in lines if line.startswith("hpc.default")] == [
        ["hpc.default", "ok", f"{name}:"] for name in CHECKS]
    assert any(line.startswith("hpc.dev") and "accounting: completion records only (sacct -c)" in line for line in lines)
    assert any(line.startswith("local.default") and "nothing to check" in line for line in lines)


def test_operators_check_with_cluster_refuses_a_partition_the_cluster_does_not_have_in_one_line(jobcomp_cluster, tmp_path):
    operators = write_operators_yaml(tmp_path / "operators.yaml", {
        "hpc.default": {"type": "slurm", **jobcomp_cluster.backend_block("ssh", tmp_path / "a", partition="debug")},
        "hpc.gpu": {"type": "slurm", **jobcomp_cluster.backend_block("ssh", tmp_path / "b", partition="gpu")},
    })

    offline = subprocess.run([str(MATTERSTACK), "operators", "check", str(operators)], capture_output=True, text=True,
                             env=jobcomp_cluster.command_env(), timeout=300)
    online = subprocess.run([str(MATTERSTACK), "operators", "check", str(operators), "--cluster"], capture_output=True,
                            text=True, env=jobcomp_cluster.command_env(), timeout=300)

    assert offline.returncode == 0
    assert online.returncode == 2
    assert online.stderr.strip() == (
        f"Error: {operators}: operators.hpc.gpu.backend.slurm.partition: partition 'gpu' does not exist on "
        f"root@127.0.0.1:{jobcomp_cluster.ssh_block()['port']} (sinfo lists: debug, dev) (fix: use one of those, "
        "or leave partition out for the cluster's default)")


def test_operators_check_with_cluster_notes_an_instance_it_cannot_reach_and_exits_1(jobcomp_cluster, tmp_path):
    block = {"type": "slurm", **jobcomp_cluster.backend_block("ssh", tmp_path / "remote", partition="debug")}
    block["ssh"]["port"] = 1
    operators = write_operators_yaml(tmp_path / "operators.yaml", {"hpc.default": block})

    done = subprocess.run([str(MATTERSTACK), "operators", "check", str(operators), "--cluster"], capture_output=True,
                          text=True, env=jobcomp_cluster.command_env(), timeout=300)

    assert done.returncode == 1
    assert any(line.startswith("note: hpc.default: not checked against its system: ") and "127.0.0.1:1" in line
               for line in done.stdout.splitlines())


def legacy_file(tmp_path, cluster, body: str | None = None):
    path = tmp_path / "curc.yaml"
    ssh = cluster.ssh_block()
    path.write_text(body or f"""
cluster:
  name: harness
  ssh: {{host: "{ssh['host']}", user: root, port: {ssh['port']}, key_path: "{ssh['key_path']}",
        known_hosts: "{ssh['known_hosts']}"}}
  paths: {{remote_workspace: "{tmp_path / 'legacy-remote'}"}}
  slurm: {{partition: dev, qos: normal, account: chem, ntasks: 1, time: "00:10:00", modules: ["echo module-line"]}}
""")
    return path


def test_operators_check_with_cluster_names_the_cluster_files_key_of_a_partition_it_refuses(jobcomp_cluster, tmp_path):
    legacy = legacy_file(tmp_path, jobcomp_cluster)
    legacy.write_text(legacy.read_text().replace("partition: dev", "partition: gpu"))
    operators = write_operators_yaml(tmp_path / "operators.yaml", {"hpc.legacy": {"type": "hpc_yaml", "path": str(legacy)}})

    done = subprocess.run([str(MATTERSTACK), "operators", "check", str(operators), "--cluster"], capture_output=True,
                          text=True, env=jobcomp_cluster.command_env(), timeout=300)

    assert done.returncode == 2
    assert done.stderr.strip().startswith(
        f"Error: {operators}: operators.hpc.legacy.backend.path ({legacy}: cluster.slurm.partition): partition 'gpu' "
        "does not exist on ")


def build(backend_type: str, block: dict, tmp_path):
    host = get_plugin_host()
    registration = host.compute_backend(backend_type)
    settings = structure_settings(registration.settings, block, where="operators.hpc.legacy.backend")
    return registration.factory(settings, OperatorContext("run1", tmp_path / "run", "ws", host))


def test_a_legacy_cluster_file_becomes_a_slurm_backend_that_runs_jobs(jobcomp_cluster, tmp_path):
    backend = build("hpc_yaml", {"path": str(legacy_file(tmp_path, jobcomp_cluster))}, tmp_path)
    token = str(uuid.uuid4())
    try:
        spec = job_spec(tmp_path, token, "true")
        seen = follow(backend, backend.submit(spec))
    finally:
        backend.close()

    assert seen.status.value == "COMPLETED"
    assert [j["partition"] for j in jobcomp_cluster.jobs_named(token)] == ["dev"]
    assert "echo module-line" in (spec.input_dir / ".matterstack/submit.sh").read_text().splitlines()


@pytest.mark.parametrize(("body", "message"), [
    ("cluster: {paths: {remote_workspace: /x}, slurm: {nodes: many}}", "curc.yaml: cluster.slurm.nodes: expected an integer"),
    ("cluster: {slurm: {partition: dev}}", "curc.yaml: cluster.paths: required key is missing"),
    ("cluster: {paths: {remote_workspace: /x}, ssh: {host: h, port: [22]}}", "curc.yaml: cluster.ssh.port: expected an integer"),
    ("hosts: []", "curc.yaml: expected the top-level key cluster"),
    ("cluster: [unclosed", "curc.yaml: cannot read it"),
])
def test_a_bad_legacy_cluster_file_is_one_error_naming_the_file_and_key(jobcomp_cluster, tmp_path, body, message):
    path = legacy_file(tmp_path, jobcomp_cluster, body)

    with pytest.raises(ConfigError) as raised:
        build("hpc_yaml", {"path": str(path)}, tmp_path)

    assert message in raised.value.one_line()


def test_a_missing_legacy_cluster_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="cluster file .*nothere.yaml does not exist"):
        build("hpc_yaml", {"path": str(tmp_path / "nothere.yaml")}, tmp_path)


def test_a_slurm_profile_structures_into_slurm_settings(jobcomp_cluster, tmp_path):
    profile = {"type": "slurm", "workspace_root": "~/matterstack", "ssh": jobcomp_cluster.ssh_block(),
               "slurm": {"partition": "dev", "modules": ["module load vasp"]}}
    block = {k: v for k, v in profile.items() if k != "type"}

    backend = build(profile["type"], block, tmp_path)
    try:
        root = backend.workspace_root()
    finally:
        backend.close()

    assert backend.settings.slurm.partition == "dev" and backend.settings.ssh.port == jobcomp_cluster.ssh_block()["port"]
    assert root == "/root/matterstack"
