"""The plugin host: one pluggy manager per process, its plugins, registries and problems.

Core's built-ins (``DEFAULT_PLUGINS``) and every distribution in the ``matterstack``
entry-point group register through the same hooks. Each plugin loads in isolation: one that
fails to import is recorded as a :class:`PluginProblem` and every other plugin keeps working.

Environment:
- ``MATTERSTACK_LOAD_PLUGINS=a,b`` loads only those distributions or entry-point names
  (empty: none besides the built-ins);
- ``MATTERSTACK_STRICT_PLUGINS=1`` turns any plugin problem into a raised PluginError;
- ``MATTERSTACK_TRACE_PLUGINS=1`` prints every hook call and its result to stderr.
"""

from __future__ import annotations

from collections import Counter

import importlib
import os
import sys
import traceback
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pluggy

from matterstack.plugins import hookspecs
from matterstack.plugins.catalog import install_hint
from matterstack.plugins.command_names import command_names
from matterstack.plugins.discovery import FoundEntryPoint, installed
from matterstack.plugins.switches import LOAD_PLUGINS, STRICT_PLUGINS, TRACE_PLUGINS, switched_on
from matterstack.plugins.registrations import Collector, PluginInfo, PluginProblem, Registration, Registry, canonical_name

ENTRY_POINT_GROUP = "matterstack"
CORE_DISTRIBUTION = "matterstack-core"
DEFAULT_PLUGINS = ("matterstack.plugins.builtin",)


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


class PluginHost:
    """The process's plugins: a pluggy manager, where each plugin came from, and what failed.

    ``operator_kinds`` and ``compute_backends`` are built by calling the hooks, and rebuilt
    whenever the set of registered plugins changes (tests add plugins with ``pm.register``).
    """

    def __init__(self, *, strict: bool = False, trace: bool = False):
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.strict = strict
        self.sources: dict[str, PluginInfo] = {}
        self.load_problems: list[PluginProblem] = []
        self.commands: dict[str, list[str]] = {}
        self._cli_app: Any = None
        self._registries: tuple[frozenset, tuple[Registry, Registry, list[PluginProblem]]] | None = None
        if trace:
            self.pm.add_hookcall_monitoring(_trace_before, _trace_after)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> PluginHost:
        """Build a host: the built-ins, then the entry points ``environ`` (default: the process's) allows."""
        environ = os.environ if environ is None else environ
        host = cls(strict=switched_on(STRICT_PLUGINS, environ), trace=switched_on(TRACE_PLUGINS, environ))
        found = installed(ENTRY_POINT_GROUP, CORE_DISTRIBUTION)
        for module_name in DEFAULT_PLUGINS:
            host.add(importlib.import_module(module_name), PluginInfo(module_name, CORE_DISTRIBUTION, found.version))
        host.load_entry_points(found.entry_points, environ.get(LOAD_PLUGINS))
        host.check_pending()
        return host

    def add(self, plugin: Any, source: PluginInfo) -> None:
        """Register ``plugin`` under ``source.name``; a plugin pluggy refuses becomes a problem."""
        try:
            self.pm.register(plugin, name=source.name)
        except Exception as exc:  # pluggy refuses hooks with bad signatures: that plugin only
            self._record(PluginProblem("load", f"{source.label}: {_one_line(exc)}", _fix(source), (source,), traceback.format_exc()))
            return
        self.sources[source.name] = source

    def load_entry_points(self, entry_points: Iterable[FoundEntryPoint], only: str | None = None) -> None:
        """Import and register each of the installed ``entry_points``; ``only`` is MATTERSTACK_LOAD_PLUGINS."""
        wanted = None if only is None else {canonical_name(n.strip()) for n in only.split(",") if n.strip()}
        matched: set[str] = set()
        for entry_point in entry_points:
            names = {canonical_name(entry_point.name), canonical_name(entry_point.distribution)}
            if wanted is not None and not names & wanted:
                continue
            matched |= names
            source = PluginInfo(
                name=f"{entry_point.distribution}:{entry_point.name}",
                distribution=entry_point.distribution,
                version=entry_point.version,
                entry_point=f"{entry_point.name} = {entry_point.value}",
            )
            if source.name in self.sources:
                continue
            try:
                plugin = entry_point.load()
            except Exception as exc:  # any failure to import is that plugin's alone
                what = f"{source.label}: entry point '{source.entry_point}' failed to load: {_one_line(exc)}"
                self._record(PluginProblem("load", what, _fix(source), (source,), traceback.format_exc()))
                continue
            self.add(plugin, source)
        for name in sorted((wanted or set()) - matched):
            source = PluginInfo(name, name)
            what = f"MATTERSTACK_LOAD_PLUGINS names {name!r}, which no installed distribution or entry point matches"
            self._record(PluginProblem("not-found", what, "install it, or remove it from MATTERSTACK_LOAD_PLUGINS", (source,)))

    def check_pending(self) -> None:
        """Report (and unregister) plugins implementing hooks that do not exist, e.g. a misspelt name."""
        while True:
            try:
                self.pm.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                name = self.pm.get_name(exc.plugin)
                source = self.source(name)
                self.pm.unregister(exc.plugin)
                self.sources.pop(name, None)
                self._record(PluginProblem("load", f"{source.label}: {_one_line(exc)}", _fix(source), (source,)))

    def source(self, plugin_name: str) -> PluginInfo:
        """Where the plugin registered as ``plugin_name`` comes from (itself, for in-process plugins)."""
        return self.sources.get(plugin_name) or PluginInfo(plugin_name, plugin_name)

    def _record(self, problem: PluginProblem) -> None:
        self.load_problems.append(problem)
        if self.strict:
            raise problem.error()

    def each_implementation(self, hook_name: str) -> Iterator[tuple[str, pluggy.HookCaller]]:
        """``(plugin name, caller)`` per plugin implementing ``hook_name``; the caller runs only that plugin."""
        hook = getattr(self.pm.hook, hook_name)
        for impl in hook.get_hookimpls():
            others = [p for p in self.pm.get_plugins() if p is not impl.plugin]
            yield impl.plugin_name, self.pm.subset_hook_caller(hook_name, others)

    def _build_registries(self) -> tuple[Registry, Registry, list[PluginProblem]]:
        key = frozenset((name, id(plugin)) for name, plugin in self.pm.list_name_plugin())
        if self._registries is None or self._registries[0] != key:
            problems: list[PluginProblem] = []
            kinds = self._collect("matterstack_operator_kinds", "operator kind", problems)
            backends = self._collect("matterstack_compute_backends", "compute backend", problems)
            failed = [*self.load_problems, *problems]
            built = (Registry("operator kind", kinds, failed), Registry("compute backend", backends, failed))
            problems += built[0].collision_problems() + built[1].collision_problems()
            self._registries = (key, (*built, problems))
        registries = self._registries[1]
        if self.strict and registries[2]:
            raise registries[2][0].error()
        return registries

    def _collect(self, hook_name: str, category: str, problems: list[PluginProblem]) -> list[Registration]:
        registrations: list[Registration] = []
        for plugin_name, call in self.each_implementation(hook_name):
            source = self.source(plugin_name)
            collector = Collector(category, source)
            try:
                call(register=collector)
            except Exception as exc:  # a plugin whose hook fails adds nothing; the others still do
                what = f"{source.label}: registering {category}s failed: {_one_line(exc)}"
                problems.append(PluginProblem("registration", what, _fix(source), (source,), traceback.format_exc()))
                continue
            registrations += collector.registrations
            problems += collector.problems
        return registrations

    @property
    def operator_kinds(self) -> Registry:
        """Operator kinds by name (``local``, ``hpc``, ``human`` ...)."""
        return self._build_registries()[0]

    @property
    def compute_backends(self) -> Registry:
        """Compute backends by type (``local``, ``profile``, ``slurm`` ...)."""
        return self._build_registries()[1]

    @property
    def problems(self) -> list[PluginProblem]:
        """Every plugin problem: failed loads, failed registrations, collisions."""
        return [*self.load_problems, *self._build_registries()[2]]

    def operator_kind(self, kind: str) -> Registration:
        """The registration of operator kind ``kind``; PluginError says what to install if missing."""
        return self.operator_kinds[kind]

    def compute_backend(self, backend_type: str) -> Registration:
        """The registration of compute backend ``backend_type``; PluginError if missing."""
        return self.compute_backends[backend_type]

    @staticmethod
    def install_hint(name: str) -> str | None:
        """``pip install <distribution>`` when a first-party distribution provides ``name``."""
        return install_hint(name)

    def install_cli(self, app: Any) -> None:
        """Let every plugin add its sub-commands to the typer ``app``, once per app.

        A plugin whose hook fails, or that adds a command name already taken, is reported;
        the other plugins' commands are still added.
        """
        if self._cli_app is app:
            return
        owners = {name: CORE_DISTRIBUTION for name in command_names(app)}
        for plugin_name, call in self.each_implementation("matterstack_cli"):
            source = self.source(plugin_name)
            before = command_names(app)
            try:
                call(app=app)
            except Exception as exc:  # a broken CLI hook must not take the whole command line down
                what = f"{source.label}: adding commands failed: {_one_line(exc)}"
                self._record(PluginProblem("registration", what, _fix(source), (source,), traceback.format_exc()))
            added = _added_names(before, command_names(app))
            self.commands[plugin_name] = added
            for name in added:
                if name in owners:
                    what = f"command {name!r} of {source.label} is already provided by {owners[name]}"
                    self._record(PluginProblem("collision", what, "uninstall one of them", (source,)))
                owners.setdefault(name, source.label)
        self._cli_app = app

    def notify_attempt_transition(self, event: Any) -> None:
        """Tell every observer about one recorded attempt transition.

        An observer that raises is reported on stderr in one line naming its plugin, and the
        other observers are still called: observing never breaks a tick.
        """
        for plugin_name, call in self.each_implementation("matterstack_attempt_transition"):
            try:
                call(event=event)
            except Exception as exc:  # observers are best-effort by contract
                label = self.source(plugin_name).label
                sys.stderr.write(f"Warning: attempt-transition observer of {label} failed: {_one_line(exc)}\n")


def _fix(source: PluginInfo) -> str:
    return f"fix or uninstall {source.distribution}; `matterstack --debug plugins` shows the traceback"


def _added_names(before: list[str], after: list[str]) -> list[str]:
    """Names in ``after`` beyond those in ``before`` (counting repeats, so a plugin that adds
    a name already taken shows up): commands and groups are listed separately, so a new
    command does not simply land at the end."""
    remaining = Counter(before)
    added = []
    for name in after:
        if remaining[name]:
            remaining[name] -= 1
        else:
            added.append(name)
    return added


def _trace_before(hook_name: str, hook_impls: list, kwargs: dict) -> None:
    arguments = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
    plugins = ", ".join(impl.plugin_name for impl in hook_impls)
    sys.stderr.write(f"[matterstack trace] {hook_name}({arguments}) -> [{plugins}]\n")


def _trace_after(outcome: Any, hook_name: str, hook_impls: list, kwargs: dict) -> None:
    exception = outcome.excinfo[1] if outcome.excinfo else None
    result = f"raised {_one_line(exception)}" if exception else f"returned {outcome.get_result()!r}"
    sys.stderr.write(f"[matterstack trace] {hook_name} {result}\n")


_host: PluginHost | None = None


def get_plugin_host() -> PluginHost:
    """The process's plugin host, loaded on first use."""
    global _host
    if _host is None:
        _host = PluginHost.load()
    return _host


def reset_plugin_host() -> None:
    """Forget the process's plugin host (tests); the next :func:`get_plugin_host` loads afresh."""
    global _host
    _host = None
