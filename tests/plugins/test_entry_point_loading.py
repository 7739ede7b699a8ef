"""Loading plugin distributions through the ``matterstack`` entry-point group, each in
isolation, and the MATTERSTACK_LOAD_PLUGINS / MATTERSTACK_STRICT_PLUGINS switches."""

from __future__ import annotations

import pytest

from matterstack.errors import PluginError
from matterstack.plugins import PluginHost

TELESCOPE = """
    from matterstack.plugins import hookimpl

    @hookimpl
    def matterstack_operator_kinds(register):
        register("telescope", lambda key, settings, context: key)
"""

BROKEN = """
    raise RuntimeError("the lab driver is missing")
"""

MISSPELT = """
    from matterstack.plugins import hookimpl

    @hookimpl
    def matterstack_operator_kind(register):
        register("never", lambda key, settings, context: key)
"""

FIRST_PARTY = {"matterstack-ops-slurm", "matterstack-ops-human", "matterstack-ops-experiment"}


@pytest.fixture
def telescope(plugin_path):
    plugin_path.add("matterstack-test-telescope", "1.2", {"telescope": "telescope_register"}, {"telescope_register": TELESCOPE})
    return plugin_path


def test_an_installed_distribution_registers_through_its_entry_point(telescope):
    host = PluginHost.load(environ={})

    registration = host.operator_kinds["telescope"]

    assert (registration.distribution, registration.version) == ("matterstack-test-telescope", "1.2")
    source = host.source(registration.plugin)
    assert source.entry_point == "telescope = telescope_register"
    assert FIRST_PARTY <= {s.distribution for s in host.sources.values()}


def test_a_plugin_that_fails_to_import_is_recorded_and_every_other_plugin_works(telescope):
    telescope.add("matterstack-test-broken", "0.1", {"broken": "broken_register"}, {"broken_register": BROKEN})

    host = PluginHost.load(environ={})

    (problem,) = host.problems
    assert problem.kind == "load"
    assert problem.what == (
        "matterstack-test-broken 0.1: entry point 'broken = broken_register' failed to load: "
        "RuntimeError: the lab driver is missing"
    )
    assert "raise RuntimeError" in problem.traceback
    assert {"telescope", "human", "experiment", "local"} <= set(host.operator_kinds)


def test_a_kind_whose_distribution_failed_to_load_says_so_instead_of_pip_install(plugin_path):
    plugin_path.add("matterstack-ops-human", "9.9", {"human": "fake_human_register"}, {"fake_human_register": BROKEN})

    host = PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": "human"})

    with pytest.raises(PluginError) as raised:
        host.operator_kinds["human"]
    assert "operator kind 'human' is unavailable: matterstack-ops-human 9.9: entry point" in raised.value.one_line()


def test_strict_mode_turns_a_load_failure_into_a_plugin_error(telescope):
    telescope.add("matterstack-test-broken", "0.1", {"broken": "broken_register"}, {"broken_register": BROKEN})

    with pytest.raises(PluginError, match="matterstack-test-broken 0.1: entry point 'broken = broken_register'") as raised:
        PluginHost.load(environ={"MATTERSTACK_STRICT_PLUGINS": "1"})
    assert isinstance(raised.value, PluginError)


def test_a_hook_with_a_misspelt_name_is_reported_naming_its_distribution(telescope):
    telescope.add("matterstack-test-misspelt", "0.2", {"misspelt": "misspelt_register"}, {"misspelt_register": MISSPELT})

    host = PluginHost.load(environ={})

    (problem,) = host.problems
    assert problem.what.startswith("matterstack-test-misspelt 0.2: ")
    assert "matterstack_operator_kind" in problem.what
    assert "telescope" in host.operator_kinds


@pytest.mark.parametrize("selection", ["matterstack-test-telescope", "telescope", " Matterstack_Test_Telescope , "])
def test_load_plugins_loads_only_the_named_distributions_or_entry_points(telescope, selection):
    host = PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": selection})

    assert {s.distribution for s in host.sources.values()} == {"matterstack-core", "matterstack-test-telescope"}
    assert set(host.operator_kinds) == {"hpc", "local", "telescope"}
    assert host.problems == []


def test_load_plugins_empty_loads_only_the_built_ins(telescope):
    host = PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": ""})

    assert list(host.sources) == ["matterstack.plugins.builtin"]


def test_load_plugins_naming_nothing_installed_is_reported(telescope):
    host = PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": "telescope,matterstack-ops-lasers"})

    (problem,) = host.problems
    assert problem.kind == "not-found" and "'matterstack-ops-lasers'" in problem.what
    assert "telescope" in host.operator_kinds
