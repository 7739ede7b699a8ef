"""The three first-party plugin distributions: tiny registration modules, settings that
accept the documented operators.yaml blocks, factories imported only when used."""

from __future__ import annotations

import subprocess
import sys

import pytest

from matterstack.errors import PluginError
from matterstack.plugins import LazyFactory, PluginHost, structure_settings


@pytest.fixture(scope="module")
def full_host() -> PluginHost:
    return PluginHost.load(environ={})


def test_registering_every_plugin_imports_no_fabric_and_no_cattrs():
    code = (
        "import sys; from matterstack.plugins import get_plugin_host;"
        "host = get_plugin_host(); list(host.operator_kinds); list(host.compute_backends);"
        "print(sorted(m for m in ('fabric', 'paramiko', 'cattrs', 'sqlite_utils') if m in sys.modules))"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"


def test_the_slurm_backend_accepts_the_documented_block(full_host):
    block = {
        "workspace_root": "/scratch/alice/matterstack",
        "ssh": {"host": "login.cluster.edu", "user": "alice", "port": 22, "key_path": "~/.ssh/id_ed25519"},
        "slurm": {"partition": "normal", "account": "chem", "qos": "normal", "time": "02:00:00", "modules": ["module load vasp"]},
    }

    value = structure_settings(full_host.compute_backends["slurm"].settings, block, where="operators.hpc.default.backend")

    assert value.ssh.port == 22 and value.ssh.accept_new_host_key is False
    assert value.slurm.modules == ["module load vasp"]


def test_a_slurm_typo_names_its_full_path(full_host):
    block = {"workspace_root": "/scratch", "slurm": {"partition": ["normal"]}}

    with pytest.raises(Exception) as raised:
        structure_settings(full_host.compute_backends["slurm"].settings, block, where="operators.hpc.default.backend")

    assert raised.value.one_line() == "operators.hpc.default.backend.slurm.partition: expected a string, found a list"


@pytest.mark.parametrize(
    ("registry", "name", "block"),
    [
        ("compute_backends", "hpc_yaml", {"path": "curc.yaml"}),
        ("compute_backends", "profile", {"name": "dev-cluster"}),
        ("compute_backends", "local", {}),
        ("operator_kinds", "human", {"timeout_minutes": 90}),
        ("operator_kinds", "manual_hpc", {"max_concurrent": 2}),
        ("operator_kinds", "experiment", {"exchange_dir": "/lab/share/requests"}),
        ("operator_kinds", "experiment", {"api": {"base_url": "http://lab:8000", "token_env": "LAB_TOKEN"}}),
        ("operator_kinds", "hpc", {"max_concurrent": 20, "backend": {"type": "slurm", "workspace_root": "/x"}}),
        ("operator_kinds", "local", {}),
    ],
)
def test_documented_blocks_validate(full_host, registry, name, block):
    settings = getattr(full_host, registry)[name].settings

    assert isinstance(structure_settings(settings, block, where=f"operators.{name}.default"), settings)


def test_a_lazy_factory_whose_module_is_absent_says_it_is_not_implemented():
    factory = LazyFactory("matterstack_ops_nowhere.operator:NowhereOperator")

    with pytest.raises(PluginError, match="not implemented in this version"):
        factory("nowhere.default", None, None)


def test_a_lazy_factory_imports_its_target_only_when_called():
    factory = LazyFactory("collections:OrderedDict")

    assert factory(a=1) == {"a": 1}


def test_a_lazy_factory_does_not_hide_a_broken_implementation(plugin_path):
    plugin_path.add("matterstack-test-half", "0.1", {}, {"half_done": "import a_module_nobody_has\n"})

    with pytest.raises(ModuleNotFoundError, match="a_module_nobody_has"):
        LazyFactory("half_done:Operator")()
