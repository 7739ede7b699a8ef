"""Settings classes: strict structuring with one ConfigError carrying the full key path."""

from __future__ import annotations

import enum
from typing import Literal

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matterstack.errors import ConfigError
from matterstack.plugins import NoSettings, PluginHost, setting, structure_settings
from matterstack.plugins.settings import EnvironmentValue, SettingsError


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


def test_every_problem_of_a_block_is_listed_at_once_each_with_its_key_path():
    message = error_of({"partition": 1, "port": "x", "bogus": 0, "api": {"base_url": 3}})

    assert message == (
        "operators.hpc.dev.backend.partition: expected a string, found an integer; "
        "operators.hpc.dev.backend.port: expected an integer, found a string; "
        "operators.hpc.dev.backend.api.base_url: expected a string, found an integer; "
        "operators.hpc.dev.backend.bogus: unknown key "
        "(fix: remove it; known keys: partition, port, ratio, verbose, modules, env, api)"
    )


def test_a_block_that_is_not_a_mapping_is_refused():
    assert error_of(["partition"]) == "operators.hpc.dev.backend: expected a mapping, found a list"


def test_a_number_or_boolean_written_as_text_is_refused_with_the_fix():
    assert error_of({"port": "2222"}) == (
        "operators.hpc.dev.backend.port: expected an integer, found '2222' (fix: write 2222 without quotes)")
    assert error_of({"verbose": "yes"}) == (
        "operators.hpc.dev.backend.verbose: expected true or false, found 'yes' (fix: write yes without quotes)")


def test_a_setting_that_reads_text_takes_a_number_written_as_text():
    @attrs.frozen
    class Lab:
        retries: int = setting(3, help="tries", from_text=True)

    assert structure_settings(Lab, {"retries": "5"}, where="x").retries == 5
    assert error_of({"retries": "many"}, cls=Lab).endswith("retries: expected an integer, found a string")


def test_a_file_written_by_0_2_x_reads_numbers_and_booleans_written_as_text_as_0_2_x_did():
    value = structure_settings(Sample, {"port": "2222", "ratio": "0.25", "verbose": "yes"}, where="x", lenient=True)

    assert (value.port, value.ratio, value.verbose) == (2222, 0.25, True)


def test_the_environment_variable_supplies_a_left_out_value_but_never_overrides_the_block():
    assert structure_settings(Sample, {}, where="x", environ={"SAMPLE_PORT": "2200"}).port == 2200
    assert structure_settings(Sample, {"port": 23}, where="x", environ={"SAMPLE_PORT": "2200"}).port == 23


def test_what_the_environment_supplied_is_reported_by_key_path_and_variable():
    supplied = []

    structure_settings(Sample, {}, where="operators.x.default", environ={"SAMPLE_PORT": "2200"}, supplied=supplied)

    assert supplied == [EnvironmentValue("operators.x.default.port", "SAMPLE_PORT", "2200")]


def test_a_value_from_the_environment_of_the_wrong_type_names_the_variable():
    assert error_of({}, environ={"SAMPLE_PORT": "ssh"}) == (
        "operators.hpc.dev.backend.port: expected an integer, found 'ssh' (from $SAMPLE_PORT)")


@attrs.frozen
class Telescope:
    """The docs' example: a required setting after an optional one."""

    max_concurrent: int | None = setting(None, help="most attempts active at once", min=1)
    dome: str = setting(help="which dome to use", env="TELESCOPE_DOME")
    token: str | None = setting(None, help="the API token", env="TELESCOPE_TOKEN", secret=True)


def test_a_required_setting_may_follow_an_optional_one():
    assert structure_settings(Telescope, {"dome": "north"}, where="x", environ={}) == Telescope(dome="north")


def test_a_required_setting_left_out_names_the_variable_that_could_supply_it():
    assert error_of({}, cls=Telescope, environ={}) == (
        "operators.hpc.dev.backend.dome: required key is missing "
        "(fix: add it, or set the environment variable TELESCOPE_DOME)")


def test_a_secret_comes_only_from_the_environment_and_is_never_shown():
    supplied = []
    value = structure_settings(Telescope, {"dome": "north"}, where="x", environ={"TELESCOPE_TOKEN": "s3cret"},
                               supplied=supplied)

    assert value.token == "s3cret"
    assert "s3cret" not in repr(value)
    assert supplied == [EnvironmentValue("x.token", "TELESCOPE_TOKEN", None)]
    assert error_of({"dome": "north", "token": "s3cret"}, cls=Telescope, environ={}) == (
        "operators.hpc.dev.backend.token: a secret is never written in the file "
        "(fix: remove it and set the environment variable TELESCOPE_TOKEN)")


class Speed(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


def even(value: int) -> None:
    if value % 2:
        raise ValueError(f"expected an even number, found {value}")


@attrs.frozen
class Checked:
    mode: Literal["batch", "interactive"] = setting("batch", help="how jobs run")
    speed: Speed | None = setting(None, help="how fast", env="CHECKED_SPEED")
    cores: int = setting(1, help="cores", min=1, max=64)
    pairs: int | None = setting(None, help="pairs", validator=even)
    api: Api | None = setting(None, help="http")


def test_choices_are_a_literal_or_an_enum_read_by_value():
    value = structure_settings(Checked, {"mode": "interactive", "speed": "slow"}, where="x", environ={})

    assert (value.mode, value.speed) == ("interactive", Speed.SLOW)
    assert structure_settings(Checked, {}, where="x", environ={"CHECKED_SPEED": "fast"}).speed is Speed.FAST
    assert error_of({"mode": "bach", "speed": "medium"}, cls=Checked, environ={}) == (
        "operators.hpc.dev.backend.mode: expected one of 'batch', 'interactive', found 'bach'; "
        "operators.hpc.dev.backend.speed: expected one of 'fast', 'slow', found 'medium'")


def test_bounds_and_validators_name_the_key_path_with_every_other_problem():
    assert error_of({"cores": 0, "pairs": 3, "api": {"base_url": 1}}, cls=Checked, environ={}) == (
        "operators.hpc.dev.backend.cores: expected at least 1, found 0; "
        "operators.hpc.dev.backend.pairs: expected an even number, found 3; "
        "operators.hpc.dev.backend.api.base_url: expected a string, found an integer")


@settings(max_examples=200, deadline=None)
@given(cores=st.integers(min_value=-1000, max_value=1000))
def test_a_bounded_setting_takes_exactly_the_values_within_its_bounds(cores):
    try:
        value = structure_settings(Checked, {"cores": cores}, where="x", environ={})
    except ConfigError as error:
        assert not 1 <= cores <= 64
        bound = "at least 1" if cores < 1 else "at most 64"
        assert error.one_line() == f"x.cores: expected {bound}, found {cores}"
    else:
        assert 1 <= cores <= 64 and value.cores == cores


@settings(max_examples=200, deadline=None)
@given(mode=st.text(max_size=12), from_environment=st.booleans())
def test_a_choice_takes_exactly_its_values_from_the_file_or_the_environment(mode, from_environment):
    block, environ = ({}, {"CHECKED_SPEED": mode}) if from_environment else ({"speed": mode}, {})
    try:
        value = structure_settings(Checked, block, where="x", environ=environ)
    except ConfigError as error:
        assert mode not in ("fast", "slow")
        assert error.one_line().startswith("x.speed: expected one of 'fast', 'slow', found ")
    else:
        assert value.speed is Speed(mode)


wrong_values = {"partition": 1, "port": "x", "ratio": [], "verbose": 2, "modules": "m", "env": 3, "api": 4}


@settings(max_examples=100, deadline=None)
@given(wrong=st.sets(st.sampled_from(sorted(wrong_values)), min_size=1), unknown=st.sets(st.sampled_from(["a", "bb"])))
def test_the_error_lists_exactly_the_keys_that_are_wrong(wrong, unknown):
    block = {**{name: wrong_values[name] for name in wrong}, **{name: 0 for name in unknown}}

    with pytest.raises(SettingsError) as raised:
        structure_settings(Sample, block, where="x", environ={})

    assert sorted(where for where, _, _ in raised.value.problems) == sorted(f"x.{name}" for name in wrong | unknown)
    assert all(f"x.{name}: " in raised.value.one_line() for name in wrong | unknown)


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
