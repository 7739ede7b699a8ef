"""``operators.yaml`` → :class:`~matterstack.wiring.model.Wiring`, validated strictly.

Every block is structured into the settings class its plugin registered (cattrs, through
:func:`~matterstack.plugins.settings.structure_settings`), so a third-party kind or backend is
checked exactly like a built-in one. The rules of the document itself:

- top level: ``operators`` (required, at least one instance) and ``defaults`` (optional:
  ``operator``, a configured key; ``max_concurrent``, the run's global cap);
- each key is a canonical ``kind.name`` and its ``kind`` equals the key's kind prefix; the kind
  is provided by an installed plugin;
- ``max_concurrent`` (a positive integer) is accepted on every instance;
- a kind takes a ``backend`` only when its settings class has a ``backend`` field (and only
  the types its ``backend_types`` names, when it names some); the block's ``type`` (default
  ``local``) is provided by an installed plugin and the rest of the block is validated by that
  backend's settings class; a backend registered with ``kinds=`` only under those kinds.

The original MatterStack's (0.2.x) dialect means what it meant there: ``max_concurrent_global``
is read as ``max_concurrent`` and every instance may carry ``slug`` and ``operator_name`` (its
names for the operator, informative only); old spellings add a note to ``notes``. Every other
problem is one :class:`ConfigError` naming the file, the full key path and the fix (for an
unknown key, the nearest known one). A snapshot written by 0.2.x is read ``lenient``: a key
0.2.x ignored is a warning, not a refusal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from matterstack.core.operator_key import parse_operator_key
from matterstack.errors import ConfigError, PluginError
from matterstack.wiring.model import InstanceConfig, Wiring
from matterstack.plugins.backend_block import read_backend_block
from matterstack.plugins.settings import describe_value, setting, structure_settings
from matterstack.plugins.settings_keys import SettingsNote, unknown_key_fix
from matterstack.wiring.yamlfile import load_yaml_bytes, read_file_bytes

TOP_LEVEL_KEYS = ("defaults", "operators")
_EXAMPLE = "operators: {local.default: {kind: local}}"


@attrs.frozen
class WiringDefaults:
    """The ``defaults`` block of operators.yaml."""

    operator: str | None = setting(None, help="routing default for tasks that name no key (a key under operators)")
    max_concurrent: int | None = setting(None, help="global cap on active attempts per run",
                                         aliases=("max_concurrent_global",), from_text=True)


@attrs.frozen
class InstanceLimit:
    """``max_concurrent`` of an instance whose kind's settings class does not declare it."""

    max_concurrent: int | None = setting(None, help="most attempts of this instance active at once", from_text=True)


@attrs.frozen
class LegacyNames:
    """What 0.2.x let every instance be called: its evidence folder (``slug``) and the operator
    type its attempts recorded (``operator_name``). MatterStack names operators by key; these
    are kept for people and change nothing."""

    slug: str | None = setting(None, help="0.2.x's folder name for the operator; informative only")
    operator_name: str | None = setting(None, help="0.2.x's name for the operator (e.g. HPC); informative only")


INSTANCE_KEYS = ("kind", "max_concurrent", *(field.name for field in attrs.fields(LegacyNames)))
"""Keys every instance takes, whatever its kind's settings."""


def load_operators_file(path: str | Path, host=None, *, notes: list[SettingsNote] | None = None,
                        lenient: bool = False) -> Wiring:
    """The wiring in the operators.yaml at ``path``, validated against ``host``'s plugins
    (default: the process's plugin host). Raises one :class:`ConfigError` for any problem;
    appends a note per old spelling (and, ``lenient``, a warning per ignored key) to ``notes``."""
    path = Path(path)
    data = read_file_bytes(path, what="operators file", fix="give the path of an existing operators.yaml")
    return load_operators_bytes(data, filename=str(path), host=host, source_file=str(path.resolve()),
                                notes=notes, lenient=lenient)


load_wiring = load_operators_file
"""The name of :func:`load_operators_file` in 0.2.x and our first versions."""


def load_operators_bytes(data: bytes, *, filename: str, host=None, source: str | None = None,
                         source_file: str | None = None, notes: list[SettingsNote] | None = None,
                         lenient: bool = False, environ: Mapping[str, str] | None = None,
                         secret_environ: Mapping[str, str] | None = None) -> Wiring:
    """The wiring in ``data`` (the bytes of an operators.yaml), reporting problems against
    ``filename``. ``source`` (default ``filename``) and ``source_file`` are recorded in the
    wiring with the sha256 of ``data``; ``notes``, ``lenient`` and the environments as
    :func:`build_wiring`."""
    if host is None:
        from matterstack.plugins.host import get_plugin_host

        host = get_plugin_host()
    document = load_yaml_bytes(data, filename=filename)
    return build_wiring(document, host=host, filename=filename, source=source or filename,
                        source_file=source_file, sha256=hashlib.sha256(data).hexdigest(), notes=notes,
                        lenient=lenient, environ=environ, secret_environ=secret_environ)


def build_wiring(document: Any, *, host, filename: str, source: str, source_file: str | None = None,
                 sha256: str | None = None, notes: list[SettingsNote] | None = None, lenient: bool = False,
                 environ: Mapping[str, str] | None = None, secret_environ: Mapping[str, str] | None = None) -> Wiring:
    """Validate a parsed operators.yaml document and build its wiring. Old spellings add a
    note to ``notes``; ``lenient`` (a file 0.2.x wrote) makes an unknown key a warning there.
    Settings left out take their variables from ``environ`` (default: the process's), secrets
    from ``secret_environ`` (default ``environ``); the wiring's ``environment`` says which did."""
    if not isinstance(document, Mapping):
        raise ConfigError(f"expected a mapping with an operators block, found {describe_value(document)}",
                          where=filename, fix=f"write {_EXAMPLE}")
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            _unknown(str(key), where=f"{filename}: {key}", known=TOP_LEVEL_KEYS, notes=notes, lenient=lenient)
    if "operators" not in document:
        raise ConfigError("required key is missing", where=f"{filename}: operators", fix=f"add {_EXAMPLE}")
    operators = document["operators"]
    if not isinstance(operators, Mapping) or not operators:
        found = "an empty mapping" if isinstance(operators, Mapping) else describe_value(operators)
        raise ConfigError(f"expected a mapping of instances by key, found {found}", where=f"{filename}: operators",
                          fix=f"write {_EXAMPLE}")
    instances = {}
    reading = _Reading(environ, secret_environ, [])
    for key, block in operators.items():
        instance = _instance(key, block, host=host, filename=filename, notes=notes, lenient=lenient, reading=reading)
        instances[instance.key] = instance
    defaults = structure_settings(WiringDefaults, document.get("defaults") or {}, where=f"{filename}: defaults",
                                  environ={}, notes=notes, lenient=lenient)
    _check_limit(defaults.max_concurrent, where=f"{filename}: defaults.max_concurrent")
    default_operator = "local.default"
    if defaults.operator is not None:
        where = f"{filename}: defaults.operator"
        default_operator = str(parse_operator_key(defaults.operator, where=where))
        if default_operator not in instances:
            raise ConfigError(f"{default_operator!r} is not configured (configured: {', '.join(instances)})",
                              where=where, fix="name one of the keys under operators, or add that instance")
    return Wiring(instances=instances, default_operator=default_operator, max_concurrent=defaults.max_concurrent,
                  source=source, source_file=source_file, sha256=sha256, environment=tuple(reading.supplied))


@attrs.frozen
class _Reading:
    """Where settings left out of the file are looked up, and what was found there."""

    environ: Mapping[str, str] | None
    secret_environ: Mapping[str, str] | None
    supplied: list


def _unknown(key: str, *, where: str, known, notes: list | None, lenient: bool) -> None:
    """An unknown key: a warning in a file 0.2.x wrote (it ignored such keys), else the error."""
    if not lenient:
        raise ConfigError("unknown key", where=where, fix=unknown_key_fix(key, known, known))
    if notes is not None:
        notes.append(SettingsNote("warning", where, "is ignored: MatterStack 0.2.x ignored it too"))


def _instance(key_text: Any, block: Any, *, host, filename: str, notes: list | None = None,
              lenient: bool = False, reading: _Reading) -> InstanceConfig:
    at = f"{filename}: operators.{key_text}" if isinstance(key_text, str) else f"{filename}: operators"
    key = parse_operator_key(key_text, where=at)
    if not isinstance(block, Mapping):
        raise ConfigError(f"expected a mapping with kind: {key.kind}, found {describe_value(block)}", where=at,
                          fix=f"write {key}: {{kind: {key.kind}}}")
    if "kind" not in block:
        raise ConfigError("required key is missing", where=f"{at}.kind", fix=f"add kind: {key.kind}")
    kind = block["kind"]
    if not isinstance(kind, str):
        raise ConfigError(f"expected a string, found {describe_value(kind)}", where=f"{at}.kind",
                          fix=f"write kind: {key.kind}")
    if kind != key.kind:
        raise ConfigError(f"kind {kind!r} does not match the key's kind {key.kind!r}", where=f"{at}.kind",
                          fix=f"write kind: {key.kind}, or name the instance {kind}.{key.name}")
    try:
        registration = host.operator_kinds[kind]
    except PluginError as exc:
        raise ConfigError(exc.what, where=f"{at}.kind", fix=exc.fix) from None
    fields = {field.name for field in attrs.fields(registration.settings)}
    options = {name: value for name, value in block.items() if name != "kind"}
    if "backend" in options and "backend" not in fields:
        raise ConfigError(f"kind {kind!r} takes no backend", where=f"{at}.backend",
                          fix="remove it; only kinds that run compute jobs (like hpc) take a backend")
    known = sorted({*INSTANCE_KEYS, *fields})
    for name in list(options):
        if name not in known:
            _unknown(str(name), where=f"{at}.{name}", known=known, notes=notes, lenient=lenient)
            del options[name]
    names = structure_settings(LegacyNames, {name: options.pop(name) for name in attrs.fields_dict(LegacyNames)
                                             if name in options and name not in fields}, where=at, environ={})
    for name, value in attrs.asdict(names).items():
        if value is not None and notes is not None:
            notes.append(SettingsNote("note", f"{at}.{name}", f"is 0.2.x's name for the operator ({value}); "
                                      "MatterStack names operators by key, so it changes nothing"))
    limit = {}  # the instance's own max_concurrent, for a kind whose settings class does not declare it
    if "max_concurrent" not in fields and "max_concurrent" in options:
        limit["max_concurrent"] = structure_settings(InstanceLimit, {"max_concurrent": options.pop("max_concurrent")},
                                                     where=at, environ={}).max_concurrent
    settings = structure_settings(registration.settings, options, where=at, notes=notes, lenient=lenient,
                                  environ=reading.environ, secret_environ=reading.secret_environ,
                                  supplied=reading.supplied)
    instance = InstanceConfig(key=str(key), kind=kind, settings=settings, **limit)
    _check_limit(instance.max_concurrent, where=f"{at}.max_concurrent")
    if "backend" in fields:
        allowed = getattr(registration.settings, "backend_types", None)
        backend = read_backend_block(settings.backend, host=host, kind=kind, where=f"{at}.backend", allowed=allowed,
                                     notes=notes, lenient=lenient, environ=reading.environ,
                                     secret_environ=reading.secret_environ, supplied=reading.supplied)
        instance = attrs.evolve(instance, settings=attrs.evolve(settings, backend=backend))
    return instance


def _check_limit(value: int | None, *, where: str) -> None:
    if value is not None and value < 1:
        raise ConfigError(f"expected a positive integer, found {value}", where=where,
                          fix="write a number of attempts of at least 1, or leave it out for no limit")
