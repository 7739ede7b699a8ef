"""The plugin host: registration through hooks, registries, collisions, unknown names,
observers, and the MATTERSTACK_* environment switches."""

from __future__ import annotations

import attrs
import pytest
import typer

from matterstack.errors import PluginError
from matterstack.plugins import PluginHost, get_plugin_host, hookimpl, reset_plugin_host, setting
from matterstack.plugins.catalog import FIRST_PARTY_PROVIDERS


@attrs.frozen
class WidgetSettings:
    size: int = setting(1, help="how big")


def widget_factory(key, settings, context):
    return ("widget", key, settings)


class WidgetPlugin:
    """Registers operator kind ``widget`` and compute backend ``gizmo``."""

    @hookimpl
    def matterstack_operator_kinds(self, register):
        register("widget", widget_factory, settings=WidgetSettings)

    @hookimpl
    def matterstack_compute_backends(self, register):
        register("gizmo", widget_factory)


class Recorder:
    """Observes attempt transitions."""

    def __init__(self):
        self.events = []

    @hookimpl
    def matterstack_attempt_transition(self, event):
        self.events.append(event)


class FailingObserver:
    @hookimpl
    def matterstack_attempt_transition(self, event):
        raise RuntimeError("observer is broken\nacross lines")


def test_hook_matterstack_operator_kinds_registers_a_kind_with_its_settings(host):
    host.pm.register(WidgetPlugin(), name="widgets")

    registration = host.operator_kinds["widget"]

    assert registration.name == "widget"
    assert registration.factory is widget_factory
    assert registration.settings is WidgetSettings
    assert (registration.distribution, registration.plugin) == ("widgets", "widgets")
    assert "widget" in host.operator_kinds and "widget" in list(host.operator_kinds)


def test_hook_matterstack_compute_backends_registers_a_backend_without_settings(host):
    from matterstack.plugins import NoSettings

    host.pm.register(WidgetPlugin(), name="widgets")

    registration = host.compute_backend("gizmo")

    assert registration.settings is NoSettings
    assert registration.factory("k", None, None) == ("widget", "k", None)


def test_hook_matterstack_cli_adds_commands_and_records_which_plugin_added_them(host):
    class Greeter:
        @hookimpl
        def matterstack_cli(self, app):
            @app.command()
            def say_hello():
                """Say hello."""

            app.add_typer(typer.Typer(), name="lab")

    host.pm.register(Greeter(), name="greeter")
    app = typer.Typer()

    host.install_cli(app)
    host.install_cli(app)

    assert host.commands["greeter"] == ["say-hello", "lab"]
    assert len(app.registered_commands) == 1


def test_hook_matterstack_attempt_transition_reaches_every_observer(host):
    first, second = Recorder(), Recorder()
    host.pm.register(first, name="first")
    host.pm.register(second, name="second")

    host.notify_attempt_transition("event-1")

    assert first.events == ["event-1"] and second.events == ["event-1"]


def test_observer_that_raises_is_logged_in_one_line_and_never_propagates(host, capsys):
    recorder = Recorder()
    host.pm.register(FailingObserver(), name="failing-observer")
    host.pm.register(recorder, name="recorder")

    host.notify_attempt_transition("event-1")

    assert recorder.events == ["event-1"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "failing-observer" in err and "RuntimeError: observer is broken across lines" in err


def test_core_registers_its_built_ins_through_the_same_hooks(host):
    assert host.sources["matterstack.plugins.builtin"].distribution == "matterstack-core"
    assert {"local", "hpc"} <= set(host.operator_kinds)
    assert {"local", "profile"} <= set(host.compute_backends)
    assert host.operator_kinds["hpc"].distribution == "matterstack-core"
    assert host.problems == []


def test_a_name_registered_by_two_distributions_is_a_collision_naming_both(host):
    class Impostor:
        @hookimpl
        def matterstack_operator_kinds(self, register):
            register("widget", widget_factory)
            register("local", widget_factory)

    host.pm.register(WidgetPlugin(), name="widgets")
    host.pm.register(Impostor(), name="impostor")

    assert "widget" not in host.operator_kinds and "local" not in host.operator_kinds
    with pytest.raises(PluginError) as raised:
        host.operator_kinds["local"]
    message = raised.value.one_line()
    assert "matterstack-core 0.3" in message and "impostor" in message
    collisions = [p for p in host.problems if p.kind == "collision"]
    assert sorted(p.what.split("'")[1] for p in collisions) == ["local", "widget"]
    assert {s.distribution for s in collisions[1].sources} == {"widgets", "impostor"}


def test_unknown_kind_names_installed_kinds_and_the_distribution_to_install(host):
    with pytest.raises(PluginError) as raised:
        host.compute_backends["slurm"]

    message = raised.value.one_line()
    assert "compute backend 'slurm'" in message
    assert "installed: local, profile" in message
    assert "pip install matterstack-ops-slurm" in message


def test_unknown_third_party_kind_gets_no_install_hint(host):
    with pytest.raises(PluginError) as raised:
        host.operator_kind("telescope")

    message = raised.value.one_line()
    assert "operator kind 'telescope'" in message and "installed: hpc, local" in message
    assert "pip install" not in message
    assert host.install_hint("telescope") is None and host.install_hint("human") == "pip install matterstack-ops-human"


def test_every_catalogued_name_is_registered_by_the_distribution_the_catalog_names():
    host = PluginHost.load(environ={})
    provided = {**host.operator_kinds, **host.compute_backends}

    for name, distribution in FIRST_PARTY_PROVIDERS.items():
        assert provided[name].distribution == distribution


def test_a_registration_hook_that_raises_is_reported_and_others_still_register(host):
    class Broken:
        @hookimpl
        def matterstack_operator_kinds(self, register):
            register("half", widget_factory)
            raise ValueError("cannot decide")

    host.pm.register(Broken(), name="broken")
    host.pm.register(WidgetPlugin(), name="widgets")

    assert "widget" in host.operator_kinds and "half" not in host.operator_kinds
    (problem,) = host.problems
    assert problem.kind == "registration" and "broken" in problem.what and "ValueError: cannot decide" in problem.what
    assert "Traceback" in problem.traceback


@pytest.mark.parametrize(
    ("name", "settings", "complaint"),
    [
        ("Widget", None, "lower-case"),
        ("wid.get", None, "lower-case"),
        ("widget", dict, "must be an attrs class"),
    ],
)
def test_invalid_registrations_are_refused_with_the_rule_they_break(host, name, settings, complaint):
    class Sloppy:
        @hookimpl
        def matterstack_operator_kinds(self, register):
            register(name, widget_factory, settings=settings)

    host.pm.register(Sloppy(), name="sloppy")

    assert list(host.operator_kinds) == ["hpc", "local"]
    assert complaint in host.problems[0].what


def test_only_a_compute_backend_says_which_kinds_may_use_it(host):
    class Queue:
        @hookimpl
        def matterstack_compute_backends(self, register):
            register("queue", widget_factory, kinds=("hpc", "batch"))

    class Sloppy:
        @hookimpl
        def matterstack_operator_kinds(self, register):
            register("widget", widget_factory, kinds=("hpc",))

        @hookimpl
        def matterstack_compute_backends(self, register):
            register("bad", widget_factory, kinds=("Not A Kind",))

    host.pm.register(Queue(), name="queue")
    host.pm.register(Sloppy(), name="sloppy")

    assert host.compute_backends["queue"].kinds == ("hpc", "batch")
    assert "widget" not in host.operator_kinds and "bad" not in host.compute_backends
    complaints = sorted(p.what for p in host.problems)
    assert complaints[0].endswith("'bad': kinds= is one or more operator kind names, e.g. kinds=(\"hpc\",)")
    assert complaints[1].endswith("'widget': kinds= says which operator kinds may use a compute backend; "
                                  "an operator kind takes no kinds=")


def test_registries_follow_plugins_registered_after_first_use(host):
    assert "widget" not in host.operator_kinds

    plugin = WidgetPlugin()
    host.pm.register(plugin, name="widgets")
    assert "widget" in host.operator_kinds

    host.pm.unregister(plugin)
    assert "widget" not in host.operator_kinds


def test_the_process_host_is_built_once_until_reset():
    first = get_plugin_host()

    assert get_plugin_host() is first
    reset_plugin_host()
    assert get_plugin_host() is not first


def test_strict_mode_raises_registration_problems_and_collisions():
    strict = PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": "", "MATTERSTACK_STRICT_PLUGINS": "1"})
    strict.pm.register(WidgetPlugin(), name="widgets")
    strict.pm.register(WidgetPlugin(), name="widgets-again")

    with pytest.raises(PluginError, match="registered by more than one distribution: widgets and widgets-again"):
        strict.operator_kinds


def test_trace_prints_every_hook_call_and_its_result(capsys):
    traced = PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": "", "MATTERSTACK_TRACE_PLUGINS": "1"})

    list(traced.operator_kinds)

    err = capsys.readouterr().err
    assert "[matterstack trace] matterstack_operator_kinds(register=<register operator kind for matterstack-core" in err
    assert "-> [matterstack.plugins.builtin]" in err
    assert "[matterstack trace] matterstack_operator_kinds returned []" in err
    assert "matterstack_compute_backends" in err
