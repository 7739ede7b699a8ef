"""``matterstack.plugins``' operators of an operators.yaml outside any run (what ``matterstack
ssh login`` builds its instances with): found as a run finds the file, validated and built as a
run builds them."""

from __future__ import annotations

import pytest

from matterstack.errors import ConfigError, PluginError
from matterstack.plugins import configured_operators, operators_file_for

OPERATORS = "operators:\n  local.b: {kind: local}\n  local.a: {kind: local, max_concurrent: 2}\n"


def test_the_folders_own_operators_yaml_comes_before_the_environment_variable(tmp_path, monkeypatch):
    named = tmp_path / "elsewhere.yaml"
    monkeypatch.setenv("MATTERSTACK_OPERATORS_CONFIG", str(named))
    (tmp_path / "workspace").mkdir()

    assert operators_file_for(tmp_path / "workspace") == named
    (tmp_path / "workspace" / "operators.yaml").write_text(OPERATORS)
    assert operators_file_for(tmp_path / "workspace") == tmp_path / "workspace" / "operators.yaml"


def test_without_a_file_or_the_variable_there_is_no_operators_file(tmp_path, monkeypatch):
    monkeypatch.delenv("MATTERSTACK_OPERATORS_CONFIG", raising=False)

    assert operators_file_for(tmp_path) is None


def test_every_instance_of_the_file_is_built_as_a_run_builds_it(tmp_path):
    path = tmp_path / "operators.yaml"
    path.write_text(OPERATORS)

    with configured_operators(path) as operators:
        keys = operators.keys()
        built = operators.get("local.a")
        with pytest.raises(PluginError, match="local.c"):
            operators.get("local.c")

    assert keys == ["local.a", "local.b"]
    assert built is not None and hasattr(built, "submit")


def test_a_wrong_block_is_refused_with_its_key_path(tmp_path):
    path = tmp_path / "operators.yaml"
    path.write_text("operators:\n  local.a: {kind: local, max_concurrent: many}\n")

    with pytest.raises(ConfigError, match="operators.local.a.max_concurrent"):
        with configured_operators(path):
            pass
