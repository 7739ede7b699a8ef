"""Settings classes: strict structuring with one ConfigError carrying the full key path."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matterstack.errors import ConfigError
from matterstack.plugins import NoSettings, PluginHost, setting, structure_settings


@attrs.frozen
class Api:
    base_url: str = setting(help="where")
    token_env: str | None = setting(None, help="which variable")


@attrs.frozen
class Sample:
    partition: str | None = setting(None, help="sbatch --partition")
    port: int = setting(22, help="port", env="SAMPLE_PORT")
    ratio: float = setting(0.5, help="a number")
    verbose: bool = setting(False, help="chatty")
    modules: list[str] = setting(factory=list, help="lines")
    env: dict[str, str] = setting(factory=dict, help="variables")
    api: Api | None = setting(None, help="http")


def error_of(data, cls=Sample, **kwargs) -> str:
    with pytest.raises(ConfigError) as raised:
        structure_settings(cls, data, where="operators.hpc.dev.backend", **kwargs)
    return raised.value.one_line()


def test_a_valid_block_becomes_an_instance_with_defaults_filled_in():
    value = structure_settings(
        Sample, {"partition": "normal", "modules": ["module load vasp"], "api": {"base_url": "http://lab"}}, where="x"
    )

    assert value == Sample(partition="normal", modules=["module load vasp"], api=Api(base_url="http://lab"))
    assert structure_settings(Sample, None, where="x") == Sample()


def test_setting_keeps_its_help_and_environment_variable():
    field = attrs.fields(Sample).port

    assert (field.default, field.metadata["help"], field.metadata["env"]) == (22, "port", "SAMPLE_PORT")


def test_wrong_type_names_the_full_key_path_expected_and_found():
    assert error_of({"partition": ["a", "b"]}) == "operators.hpc.dev.backend.partition: expected a string, found a list"


def test_unknown_key_names_the_known_keys():
    assert error_of({"foo": 1}) == (
        "operators.hpc.dev.backend.foo: unknown key "
        "(fix: remove it; known keys: partition, port, ratio, verbose, modules, env, api)"
    )


def test_nested_and_list_paths_are_exact():
    assert error_of({"api": {"base_url": 3}}) == "operators.hpc.dev.backend.api.base_url: expected a string, found an integer"
    assert error_of({"modules": ["ok", 7]}) == "operators.hpc.dev.backend.modules[1]: expected a string, found an integer"
    assert error_of({"env": {"A": True}}) == "operators.hpc.dev.backend.env.A: expected a string, found a boolean"
    assert error_of({"api": {}}) == "operators.hpc.dev.backend.api.base_url: required key is missing (fix: add it)"


def test_a_string_is_not_silently_a_list_nor_a_boolean_an_integer():
    assert error_of({"modules": "module load vasp"}).endswith("modules: expected a list, found a string")
    assert error_of({"port": True}).endswith("port: expected an integer, found a boolean")


def test_several_problems_make_one_error_that_counts_the_rest():
    message = error_of({"partition": 1, "port": "x", "bogus": 0})

    assert message.startswith("operators.hpc.dev.backend.")
    assert "(and 2 more problem(s) in operators.hpc.dev.backend)" in message


def test_a_block_that_is_not_a_mapping_is_refused():
    assert error_of(["partition"]) == "operators.hpc.dev.backend: expected a mapping, found a list"


def test_numbers_and_booleans_written_as_text_are_read():
    value = structure_settings(Sample, {"port": "2222", "ratio": "0.25", "verbose": "yes"}, where="x")

    assert (value.port, value.ratio, value.verbose) == (2222, 0.25, True)


def test_the_environment_variable_supplies_a_left_out_value_but_never_overrides_the_block():
    assert structure_settings(Sample, {}, where="x", environ={"SAMPLE_PORT": "2200"}).port == 2200
    assert structure_settings(Sample, {"port": 23}, where="x", environ={"SAMPLE_PORT": "2200"}).port == 23


def test_no_settings_accepts_only_an_empty_block():
    assert structure_settings(NoSettings, {}, where="x") == NoSettings()
    assert "x.size: unknown key" in error_of({"size": 1}, cls=NoSettings).replace("operators.hpc.dev.backend", "x")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def settings_classes():
    host = PluginHost.load(environ={})
    registrations = [*host.operator_kinds.values(), *host.compute_backends.values()]
    return [Sample, *sorted({r.settings for r in registrations}, key=lambda cls: cls.__name__)]


@pytest.mark.parametrize("cls", settings_classes(), ids=lambda cls: cls.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_block_gives_an_instance_or_exactly_one_config_error(cls, data):
    names = [field.name for field in attrs.fields(cls)]
    keys = st.sampled_from(names) | st.text(max_size=6) if names else st.text(max_size=6)
    block = data.draw(st.dictionaries(keys, json_values, max_size=5) | json_values)

    try:
        value = structure_settings(cls, block, where="operators.x.default")
    except ConfigError as error:
        assert error.one_line().startswith("operators.x.default")
        assert "\n" not in error.one_line()
    else:
        assert isinstance(value, cls)
