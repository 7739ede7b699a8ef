"""Properties of the 0.2.x dialect: every spelling of an sbatch key is one directive, and a
key one edit away from a known one is refused with a suggestion one edit away."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matterstack.errors import ConfigError
from matterstack.plugins import PluginHost, structure_settings
from matterstack.plugins.backend_interfaces import JobSpec
from matterstack.plugins.settings_keys import edit_distance, known_keys
from matterstack.wiring.document import INSTANCE_KEYS, build_wiring
from matterstack_ops_slurm import scheduler
from matterstack_ops_slurm.register import SlurmBackendSettings, SlurmDefaults
from matterstack_ops_slurm.sbatch_options import NONE, RESERVED, SBATCH_OPTIONS

DIRECTIVE_OF_FIELD = {"gpus": "gres", "memory_gb": "mem"}
"""MatterStack's own keys whose directive has another name (``gpus: 2`` is ``--gres=gpu:2``)."""
PASSABLE = sorted(name for name in SBATCH_OPTIONS if name not in RESERVED and name not in DIRECTIVE_OF_FIELD)
SLURM_KEYS = sorted(set(known_keys(SlurmDefaults)))
KEY_CHARACTERS = "abcdefghijklmnopqrstuvwxyz_-"


@functools.cache
def plugin_host() -> PluginHost:
    return PluginHost.load(environ={})


def wiring_of(slurm_block: dict, **instance):
    document = {"operators": {"hpc.c": {"kind": "hpc", **instance, "backend": {
        "type": "slurm", "workspace_root": "/scratch/x", "slurm": slurm_block}}}}
    return build_wiring(document, host=plugin_host(), filename="operators.yaml", source="test")


def directives_of(slurm_block: dict) -> list[str]:
    block = wiring_of(slurm_block).instances["hpc.c"].settings.backend
    backend = structure_settings(SlurmBackendSettings, {k: v for k, v in block.items() if k != "type"}, where="t")
    job = JobSpec(token="t1", command="true", input_dir=Path("."), relative_dir="tasks/t/attempts/a")
    return [line for line in scheduler.submit_script(job, backend.slurm).splitlines() if line.startswith("#SBATCH")]


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(PASSABLE), value=st.integers(min_value=1, max_value=999), dashes=st.booleans())
def test_every_spelling_of_every_sbatch_key_is_the_same_directive(name, value, dashes):
    spelling = name if dashes else name.replace("-", "_")
    given_value = True if SBATCH_OPTIONS[name] == NONE else str(value)

    lines = directives_of({spelling: given_value})

    expected = f"#SBATCH --{name}" if given_value is True else f"#SBATCH --{name}={value}"
    assert [line for line in lines if line.split("=")[0] == f"#SBATCH --{name}"] == [expected]
    assert lines == directives_of({name: given_value})


def one_edit(word: str, data) -> str:
    """``word`` with one character inserted, deleted, replaced, or two neighbours swapped."""
    kind = data.draw(st.sampled_from(["insert", "delete", "replace", "swap"] if len(word) > 1 else ["insert", "replace"]))
    at = data.draw(st.integers(min_value=0, max_value=len(word) - (0 if kind == "insert" else 1 if kind != "swap" else 2)))
    letter = data.draw(st.sampled_from(KEY_CHARACTERS))
    if kind == "insert":
        return word[:at] + letter + word[at:]
    if kind == "delete":
        return word[:at] + word[at + 1:]
    if kind == "replace":
        return word[:at] + letter + word[at + 1:]
    return word[:at] + word[at + 1] + word[at] + word[at + 2:]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_near_miss_of_a_slurm_key_is_refused_with_a_suggestion_one_edit_away(data):
    key = data.draw(st.sampled_from(SLURM_KEYS))
    typo = one_edit(key, data)
    if typo in SLURM_KEYS or not typo:
        return

    with pytest.raises(ConfigError) as raised:
        wiring_of({typo: "1"})

    error = raised.value
    assert error.where == f"operators.yaml: operators.hpc.c.backend.slurm.{typo}" and error.what == "unknown key"
    suggested = error.fix.split("'")[1]
    assert suggested in SLURM_KEYS and edit_distance(typo, suggested) == 1


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_near_miss_of_an_instance_key_is_refused_with_a_suggestion_one_edit_away(data):
    known = sorted({*INSTANCE_KEYS, "backend"})
    key = data.draw(st.sampled_from([k for k in known if k != "kind"]))
    typo = one_edit(key, data)
    if typo in known or not typo:
        return

    with pytest.raises(ConfigError) as raised:
        wiring_of({}, **{typo: "1"})

    assert raised.value.where == f"operators.yaml: operators.hpc.c.{typo}"
    suggested = raised.value.fix.split("'")[1]
    assert suggested in known and edit_distance(typo, suggested) == 1


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_near_miss_of_an_api_key_is_refused_though_the_block_takes_the_sites_own_keys(data):
    known = ["base_url", "token_env"]
    typo = one_edit(data.draw(st.sampled_from(known)), data)
    if typo in known:
        return
    document = {"operators": {"experiment.lab": {"kind": "experiment", "api": {
        "base_url": "http://lab", "gateway": "lab-gateway", typo: "x"}}}}

    with pytest.raises(ConfigError) as raised:
        build_wiring(document, host=plugin_host(), filename="operators.yaml", source="test")

    assert raised.value.where == f"operators.yaml: operators.experiment.lab.api.{typo}"
    suggested = raised.value.fix.split("'")[1]
    assert suggested in known and edit_distance(typo, suggested) == 1
