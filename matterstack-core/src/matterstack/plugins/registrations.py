"""The registrations of operator kinds and compute backends, the registries that hold them by
name, and the problems found making them.

A name registered once maps to its :class:`Registration`. A name registered by two plugins is
a collision: neither wins, and looking it up raises a :class:`PluginError` naming both.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs

from matterstack.errors import PluginError
from matterstack.plugins.catalog import providing_distribution
from matterstack.plugins.settings import NoSettings

NAME_RULE = re.compile(r"[a-z][a-z0-9_]*\Z")


def canonical_name(name: str) -> str:
    """A distribution name as packaging compares them (``Matterstack_Ops.Slurm`` → ``matterstack-ops-slurm``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@attrs.frozen
class PluginInfo:
    """Where a registered plugin comes from.

    ``entry_point`` reads ``name = module`` for a plugin found through the ``matterstack``
    entry-point group; it is None for core's built-ins and for plugins registered in-process.
    """

    name: str
    distribution: str
    version: str | None = None
    entry_point: str | None = None

    @property
    def label(self) -> str:
        """``distribution version``, as shown to people."""
        return f"{self.distribution} {self.version}" if self.version else self.distribution


@attrs.frozen
class PluginProblem:
    """A plugin that failed to load or to register, or a name claimed by two plugins.

    ``kind`` is ``load``, ``registration``, ``collision`` or ``not-found``; ``traceback`` is
    kept for ``--debug`` when an exception caused the problem.
    """

    kind: str
    what: str
    fix: str
    sources: tuple[PluginInfo, ...]
    traceback: str | None = None

    def error(self) -> PluginError:
        """The problem as the one-line error a user sees."""
        return PluginError(self.what, fix=self.fix)


@attrs.frozen
class Registration:
    """One operator kind or compute backend: its factory, settings class and provider."""

    name: str
    factory: Callable[..., Any]
    settings: type
    distribution: str
    version: str | None = None
    plugin: str = ""
    problem: str | None = None
    """Why the factory cannot build anything (a :class:`LazyFactory` target that does not
    resolve), found when the plugin registered it; None when nothing is known to be wrong."""
    kinds: tuple[str, ...] | None = None
    """The operator kinds that may use this compute backend (``register(..., kinds=("hpc",))``);
    None: any kind that takes a backend."""

    @property
    def label(self) -> str:
        """``distribution version`` of the provider, as shown to people."""
        return f"{self.distribution} {self.version}" if self.version else self.distribution


class Collector:
    """The ``register`` callback one plugin's hook receives; checks and keeps each registration."""

    def __init__(self, category: str, source: PluginInfo):
        self.category = category
        self.source = source
        self.registrations: list[Registration] = []
        self.problems: list[PluginProblem] = []

    def __call__(self, name: str, factory: Callable[..., Any], settings: type | None = None,
                 kinds: Iterable[str] | None = None) -> None:
        where = f"{self.source.label} registers {self.category} {name!r}"
        if not isinstance(name, str) or not NAME_RULE.match(name):
            raise PluginError(f"{where}: a name is lower-case letters, digits and '_', starting with a letter")
        if kinds is not None:
            kinds = self._kinds(kinds, where)
        if not callable(factory):
            raise PluginError(f"{where}: the factory {factory!r} is not callable")
        if settings is None:
            settings = NoSettings
        elif not (isinstance(settings, type) and attrs.has(settings)):
            raise PluginError(f"{where}: settings must be an attrs class, not {settings!r}")
        # A factory that cannot resolve is still registered: runs and their wiring that name
        # it keep loading, and their attempts are failed with this reason, not left waiting.
        problem = factory.problem() if isinstance(factory, LazyFactory) else None
        if problem is not None:
            self.problems.append(PluginProblem(
                "registration", f"{where}: {problem}",
                f"fix the factory target in {self.source.distribution}, or upgrade it", (self.source,)))
        self.registrations.append(
            Registration(name, factory, settings, self.source.distribution, self.source.version, self.source.name,
                         problem, kinds)
        )

    def _kinds(self, kinds: Iterable[str], where: str) -> tuple[str, ...]:
        """``kinds=`` as a tuple of kind names; only a compute backend says which kinds may use it."""
        if self.category != "compute backend":
            raise PluginError(f"{where}: kinds= says which operator kinds may use a compute backend; "
                              f"an {self.category} takes no kinds=")
        if isinstance(kinds, str):
            kinds = (kinds,)
        kinds = tuple(kinds)
        if not kinds or not all(isinstance(kind, str) and NAME_RULE.match(kind) for kind in kinds):
            raise PluginError(f"{where}: kinds= is one or more operator kind names, e.g. kinds=(\"hpc\",)")
        return kinds

    def __repr__(self) -> str:
        return f"<register {self.category} for {self.source.label}>"


class Registry(Mapping[str, Registration]):
    """Every registration of one category (``operator kind`` or ``compute backend``) by name.

    Iteration, ``in`` and ``get`` see only names registered exactly once. ``registry[name]``
    raises :class:`PluginError` for a collision or an unknown name, saying what is installed
    and, for a name a first-party distribution provides, what to ``pip install``.
    """

    def __init__(self, category: str, registrations: Iterable[Registration], load_problems: Iterable[PluginProblem] = ()):
        self.category = category
        self.registrations = tuple(registrations)
        self._load_problems = tuple(load_problems)
        by_name: dict[str, list[Registration]] = {}
        for registration in self.registrations:
            by_name.setdefault(registration.name, []).append(registration)
        self._unique = {name: regs[0] for name, regs in by_name.items() if len(regs) == 1}
        self.collisions = {name: tuple(regs) for name, regs in by_name.items() if len(regs) > 1}

    def __getitem__(self, name: str) -> Registration:
        if name in self._unique:
            return self._unique[name]
        raise self.missing(name)

    def __contains__(self, name: object) -> bool:
        return name in self._unique

    def get(self, name: str, default: Any = None) -> Any:
        """The registration of ``name`` if it is registered exactly once, else ``default``."""
        return self._unique.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._unique))

    def __len__(self) -> int:
        return len(self._unique)

    def collision_problems(self) -> list[PluginProblem]:
        """One problem per name that more than one plugin registers."""
        return [self._collision(name) for name in sorted(self.collisions)]

    def _collision(self, name: str) -> PluginProblem:
        regs = self.collisions[name]
        labels = " and ".join(r.label for r in regs)
        return PluginProblem(
            kind="collision",
            what=f"{self.category} {name!r} is registered by more than one distribution: {labels}",
            fix="uninstall all but one of them, or choose one with MATTERSTACK_LOAD_PLUGINS",
            sources=tuple(PluginInfo(r.plugin, r.distribution, r.version) for r in regs),
        )

    def missing(self, name: str) -> PluginError:
        """The error for looking up ``name`` when it is not registered exactly once."""
        if name in self.collisions:
            return self._collision(name).error()
        provider = providing_distribution(name)
        if provider:
            for problem in self._load_problems:
                if any(canonical_name(s.distribution) == provider for s in problem.sources):
                    return PluginError(f"{self.category} {name!r} is unavailable: {problem.what}", fix=problem.fix)
        installed = ", ".join(self) or "none"
        what = f"{self.category} {name!r} is not provided by any installed distribution (installed: {installed})"
        if provider:
            fix = f"pip install {provider}"
        elif self._load_problems:
            fix = f"check the name; {len(self._load_problems)} plugin(s) failed to load, see `matterstack plugins`"
        else:
            fix = "check the name, or install the distribution that provides it"
        return PluginError(what, fix=fix)


@attrs.frozen
class LazyFactory:
    """A factory that imports ``"module:attribute"`` when first called, then calls it.

    Keeps registration modules tiny: heavy imports (fabric, HTTP clients) happen only when an
    operator or backend is really built. A missing module raises :class:`PluginError`.
    """

    target: str

    def problem(self) -> str | None:
        """Why ``target`` does not resolve, found without running the module: it must be
        ``module:attribute``, the module must be found, and (when its source is there to
        read) name ``attribute``. None when it resolves."""
        module_name, colon, attribute = self.target.partition(":")
        if not colon or not module_name or not attribute.isidentifier():
            return f"factory target {self.target!r} is not 'module:attribute'"
        try:
            spec = importlib.util.find_spec(module_name)
        except ModuleNotFoundError:  # a parent that is missing, or a module and not a package
            spec = None
        except (ImportError, ValueError) as exc:  # a parent package that fails to import
            return f"factory target {self.target!r}: module {module_name!r} cannot be found ({exc})"
        if spec is None:
            return f"factory target {self.target!r}: no module {module_name!r}"
        origin = spec.origin or ""
        if not origin.endswith(".py") or _names_in_source(origin, attribute):
            return None
        return f"factory target {self.target!r}: module {module_name!r} has no {attribute!r}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module_name, _, attribute = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if not (module_name == missing or module_name.startswith(missing + ".")):
                raise
            raise PluginError(
                f"{self.target} is not implemented in this version (no module {module_name!r})",
                fix="upgrade the distribution that provides it",
            ) from exc
        implementation = getattr(module, attribute, None)
        if implementation is None:
            raise PluginError(f"{self.target} is not implemented in this version ({module_name} has no {attribute!r})")
        return implementation(*args, **kwargs)


def _names_in_source(path: str, name: str) -> bool:
    """Whether ``name`` occurs as a whole word in a module's source (True when the source
    cannot be read). A cheap test, run for every registration of every command: a misspelt
    attribute occurs nowhere; a name the module makes some other way is not refused."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return True
    return re.search(rf"(?<![\w.:]){re.escape(name)}\b", text) is not None  # not the target text itself
