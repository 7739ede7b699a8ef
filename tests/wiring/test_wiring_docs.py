"""docs/operators-yaml.md is true: every fenced yaml block loads (operators.yaml, profiles, a
legacy cluster file) or, when it says ``# refused: <message>``, is refused with exactly that
message; and every setting of every installed kind and backend is documented."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import attrs
import pytest

from matterstack.errors import ConfigError
from matterstack.wiring import load_operators_file, load_profiles, resolve_profile

DOC = Path(__file__).resolve().parents[2] / "docs/operators-yaml.md"
FENCE = re.compile(r"```yaml\n(.*?)```", re.DOTALL)
REFUSED = re.compile(r"# refused: (.*)\n")


def yaml_blocks():
    for number, block in enumerate(FENCE.findall(DOC.read_text()), start=1):
        yield pytest.param(block, id=f"block{number}")


def test_the_reference_shows_examples_of_each_file():
    blocks = [b.values[0] for b in yaml_blocks()]

    assert sum(b.startswith(("operators:", "defaults:")) for b in blocks) >= 3
    assert sum(b.startswith("# refused:") for b in blocks) >= 5
    assert any(b.startswith("profiles:") for b in blocks) and any(b.startswith("cluster:") for b in blocks)


@pytest.mark.parametrize("block", list(yaml_blocks()))
def test_each_yaml_example_of_the_reference_loads_or_is_refused_as_it_says(block, tmp_path, host):
    path = tmp_path / "operators.yaml"
    path.write_text(block)

    if block.startswith("profiles:"):
        assert resolve_profile(next(iter(load_profiles(path))), host=host, config=path)
    elif block.startswith("cluster:"):
        from matterstack_ops_slurm.hpc_yaml import load_cluster_file

        assert load_cluster_file(path).workspace_root.startswith("/scratch")
    elif refused := REFUSED.match(block):
        with pytest.raises(ConfigError) as caught:
            load_operators_file(path, host)
        assert caught.value.one_line() == refused.group(1).replace("operators.yaml", str(path), 1)
    else:
        assert load_operators_file(path, host).instances


def setting_names(cls) -> set[str]:
    """The names of a settings class's fields and of the fields of attrs classes inside it."""
    names = set()
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        names.add(field.name)
        for inner in (hints[field.name], *typing.get_args(hints[field.name])):
            if attrs.has(inner):
                names |= setting_names(inner)
    return names


def test_every_setting_of_every_installed_kind_and_backend_is_documented(host):
    text = DOC.read_text()
    first_party = [r for registry in (host.operator_kinds, host.compute_backends) for r in registry.registrations
                   if r.distribution.startswith("matterstack")]

    missing = {f"{r.name}.{name}" for r in first_party for name in setting_names(r.settings) if f"`{name}`" not in text}

    assert not missing, f"document these in docs/operators-yaml.md: {sorted(missing)}"
