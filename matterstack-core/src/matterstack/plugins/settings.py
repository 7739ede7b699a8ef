"""Settings classes for plugin authors: attrs classes, structured strictly with cattrs.

A kind's or backend's settings class is an attrs class whose fields are made with
:func:`setting` (keyword-only, so a required field may follow an optional one).
:func:`structure_settings` turns a YAML block into an instance, or raises one
:class:`SettingsError` listing every problem of the block, each with its full key path, what
was expected and what was found. cattrs is imported only when a block is structured, never
at registration.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from matterstack.errors import ConfigError
from matterstack.plugins.settings_keys import nested_settings_class, normalize_keys, unknown_key_fix_for
from matterstack.plugins.settings_values import (
    Mismatch,
    Scalar,
    Text,
    describe_value,
    settings_converter,
)

__all__ = ["EnvironmentValue", "NoSettings", "Scalar", "SettingsError", "describe_value", "setting",
           "structure_settings"]


def setting(default: Any = attrs.NOTHING, *, help: str, env: str | None = None, factory: Any = None,
            aliases: tuple[str, ...] = (), validator: Callable[[Any], None] | None = None,
            min: float | None = None, max: float | None = None, from_text: bool = False,
            secret: bool = False) -> Any:
    """A keyword-only settings field.

    ``default`` (none: required) or ``factory`` (a mutable default, e.g. ``factory=list``);
    one line of ``help``; ``env``, the environment variable that supplies the value when the
    block leaves it out; ``aliases``, old (0.2.x) spellings read as this field with a note;
    ``min`` and ``max`` (inclusive) and ``validator``, a callable that raises
    ``ValueError("...")`` for a value it refuses, checked on every value but None;
    ``from_text``: also read a number or boolean written as text (``"5"``, ``"yes"``), which
    is otherwise refused; ``secret``: the value comes only from ``env``, is read from the
    environment whenever the settings are (never pinned in a run's snapshot) and is left
    out of the settings' repr. Choices are the field's type: ``Literal["fast", "slow"]`` or
    an :class:`enum.Enum` (read by value).
    """
    if secret and not env:
        raise TypeError("a secret setting needs env=, the variable that supplies it")
    metadata = {"help": help, "env": env, "aliases": tuple(aliases), "validator": validator, "min": min,
                "max": max, "from_text": from_text, "secret": secret}
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata, kw_only=True, repr=not secret)
    return attrs.field(default=default, metadata=metadata, kw_only=True, repr=not secret)


@attrs.frozen
class NoSettings:
    """The settings of a kind or backend that takes none: every key is unknown."""


@attrs.frozen
class EnvironmentValue:
    """A setting the environment supplied: its full key path, the variable, and the value
    (None for a secret, whose value is never written down)."""

    where: str
    variable: str
    value: str | None


class SettingsError(ConfigError):
    """Every problem of one settings block, each ``(key path, what, fix)``; ``where``,
    ``what`` and ``fix`` are the first one's, and the line lists them all, ``; ``-separated."""

    def __init__(self, problems: list[tuple[str, str, str | None]]):
        self.problems = problems
        where, what, fix = problems[0]
        super().__init__(what, where=where, fix=fix)

    def one_line(self) -> str:
        return "; ".join(ConfigError(what, where=where, fix=fix).one_line() for where, what, fix in self.problems)


def _key_path(where: str, path: tuple) -> str:
    text = where
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    return text


def _missing_fix(cls: type | None, name: Any) -> str:
    """The fix of a required key left out: add it, or set the variable that supplies it."""
    fields = attrs.fields_dict(cls) if cls is not None and attrs.has(cls) else {}
    field = fields.get(name)
    variable = field.metadata.get("env") if field is not None else None
    if variable and field.metadata.get("secret"):
        return f"set the environment variable {variable} (a secret is never written in the file)"
    return f"add it, or set the environment variable {variable}" if variable else "add it"


def _problems(exc: BaseException, path: tuple, cls: type | None = None) -> list[tuple[tuple, str, str | None]]:
    """Flatten a cattrs error tree into ``(key path, what, fix)`` triples."""
    from cattrs.errors import (
        AttributeValidationNote,
        ClassValidationError,
        ForbiddenExtraKeysError,
        IterableValidationError,
    )

    if isinstance(exc, ForbiddenExtraKeysError):
        return [(path + (str(key),), "unknown key", unknown_key_fix_for(exc.cl, str(key)))
                for key in sorted(exc.extra_fields, key=str)]
    if isinstance(exc, (ClassValidationError, IterableValidationError)):
        with_notes, without_notes = exc.group_exceptions()
        inner = exc.cl if isinstance(exc, ClassValidationError) and attrs.has(exc.cl) else None
        gathering = {f.name for f in attrs.fields(inner) if "pass_through" in f.metadata} if inner else set()
        found = []
        for sub, sub_note in with_notes:
            step = sub_note.name if isinstance(sub_note, AttributeValidationNote) else sub_note.index
            if isinstance(sub, KeyError):
                found.append((path + (step,), "required key is missing", _missing_fix(inner, step)))
                continue
            # a pass-through field has no key of its own: its keys sit in the block itself
            found += _problems(sub, path if step in gathering else path + (step,), inner)
        for sub in without_notes:
            found += _problems(sub, path, inner)
        return found
    if isinstance(exc, KeyError):
        return [(path, "required key is missing", "add it")]
    if isinstance(exc, Mismatch):
        return [(path, str(exc), exc.fix)]
    if isinstance(exc, ValueError):
        return [(path, str(exc), None)]
    return [(path, f"invalid value ({type(exc).__name__}: {exc})", None)]


def _fill(cls: type, data: dict, *, where: str, environ: Mapping[str, str], secret_environ: Mapping[str, str],
          supplied: list[EnvironmentValue], problems: list) -> dict:
    """``data`` with the values its fields' variables supply and text a field reads as text
    marked so, for every nested settings block too; a secret written in the block is a problem."""
    attrs.resolve_types(cls)
    data = dict(data)
    for field in attrs.fields(cls):
        if "pass_through" in field.metadata:
            continue
        variable = field.metadata.get("env")
        secret = field.metadata.get("secret")
        source = secret_environ if secret else environ
        at = f"{where}.{field.name}"
        if secret and field.name in data:
            problems.append((at, "a secret is never written in the file",
                             f"remove it and set the environment variable {variable}"))
        if field.name not in data and variable and variable in source:
            data[field.name] = Text(source[variable], variable)
            supplied.append(EnvironmentValue(at, variable, None if secret else source[variable]))
        elif field.metadata.get("from_text") and isinstance(data.get(field.name), str):
            data[field.name] = Text(data[field.name])
        inner = nested_settings_class(field.type)
        if inner is not None and isinstance(data.get(field.name), Mapping):
            data[field.name] = _fill(inner, data[field.name], where=at, environ=environ, secret_environ=secret_environ,
                                     supplied=supplied, problems=problems)
    return data


def structure_settings(cls: type, data: Any, *, where: str, environ: Mapping[str, str] | None = None,
                       notes: list | None = None, lenient: bool = False,
                       supplied: list[EnvironmentValue] | None = None,
                       secret_environ: Mapping[str, str] | None = None) -> Any:
    """Build ``cls`` from the block ``data`` found at key path ``where``.

    A field left out of the block takes its ``env`` variable from ``environ`` (default
    ``os.environ``; a secret's from ``secret_environ``, default ``environ``) when it names
    one and it is set; each such value is appended to ``supplied`` as an
    :class:`EnvironmentValue`. Old spellings and pass-through keys are read
    as :mod:`~matterstack.plugins.settings_keys` says, adding a note to ``notes`` for each;
    ``lenient`` (a file written by 0.2.x) turns unknown keys into warnings and reads numbers
    and booleans written as text, as 0.2.x did. Raises one :class:`SettingsError`
    (``<where>.<key path>: expected ..., found ...``) listing every problem of the block; a
    validator's ``ValueError`` reads as its message.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a mapping, found {describe_value(data)}", where=where)
    environ = os.environ if environ is None else environ
    data = normalize_keys(cls, data, where=where, notes=notes, lenient=lenient)
    problems: list = []
    found: list[EnvironmentValue] = []
    data = _fill(cls, data, where=where, environ=environ, secret_environ=environ if secret_environ is None else secret_environ,
                 supplied=found, problems=problems)
    try:
        value = settings_converter(lenient).structure(data, cls)
    except Exception as exc:  # every failure becomes a problem with its key path
        found_problems = _problems(exc, (), cls) or [((), f"invalid settings ({type(exc).__name__}: {exc})", None)]
        problems += [(_key_path(where, path), what, fix) for path, what, fix in found_problems]
    if problems:
        raise SettingsError(problems)
    if supplied is not None:
        supplied.extend(found)
    return value
