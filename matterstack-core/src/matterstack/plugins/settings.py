"""Settings classes for plugin authors: attrs classes, structured strictly with cattrs.

A kind's or backend's settings class is an attrs class whose fields are made with
:func:`setting`. :func:`structure_settings` turns a YAML block into an instance, or raises
exactly one :class:`ConfigError` naming the full key path, what was expected and what was
found. cattrs is imported only when a block is structured, never at registration.
"""

from __future__ import annotations

import functools
import os
import typing
from collections.abc import Mapping
from typing import Any

import attrs

from matterstack.errors import ConfigError
from matterstack.plugins.settings_keys import normalize_keys, unknown_key_fix_for

_TYPE_NAMES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a mapping",
    type(None): "nothing (null)",
}


Scalar = typing.Union[str, int, float, bool]
"""The type of a setting written as any single YAML value (a string, number or boolean)."""


def setting(default: Any = attrs.NOTHING, *, help: str, env: str | None = None, factory: Any = None,
            aliases: tuple[str, ...] = ()) -> Any:
    """A settings field: its default (none: required), one line of ``help``, optionally the
    environment variable ``env`` that supplies the value when the block leaves it out, and the
    ``aliases`` (0.2.x spellings) read as this field, with a note."""
    metadata = {"help": help, "env": env, "aliases": tuple(aliases)}
    if factory is not None:
        return attrs.field(factory=factory, metadata=metadata)
    return attrs.field(default=default, metadata=metadata)


@attrs.frozen
class NoSettings:
    """The settings of a kind or backend that takes none: every key is unknown."""


class _Mismatch(Exception):
    """A value of the wrong type; the message reads ``expected X, found Y``."""


def describe_value(value: Any) -> str:
    """How a YAML value is named in messages: ``a string``, ``a list``, ``nothing (null)``."""
    for kind, name in _TYPE_NAMES.items():
        if type(value) is kind:
            return name
    return f"a {type(value).__name__}"


def _expected(what: str, value: Any) -> _Mismatch:
    return _Mismatch(f"expected {what}, found {describe_value(value)}")


def _structure_str(value: Any, _: type) -> str:
    if isinstance(value, str):
        return value
    raise _expected("a string", value)


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise _expected("an integer", value)


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _expected("a number", value)


def _structure_scalar(value: Any, _: type) -> Any:
    if isinstance(value, (str, int, float, bool)):
        return value
    raise _expected("a single value (a string, number or boolean)", value)


_BOOLEAN_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS:
        return _BOOLEAN_WORDS[value.strip().lower()]
    raise _expected("true or false", value)


def _origin(type_: Any) -> Any:
    return typing.get_origin(type_) or type_


@functools.cache
def _converter():
    import cattrs
    from cattrs.errors import IterableValidationError, IterableValidationNote
    from cattrs.gen import make_dict_structure_fn

    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    for kind, hook in ((str, _structure_str), (int, _structure_int), (float, _structure_float), (bool, _structure_bool)):
        converter.register_structure_hook(kind, hook)
    converter.register_structure_hook_func(lambda t: t in (Scalar, typing.Optional[Scalar]), _structure_scalar)

    def each(items, type_):
        """Structure ``(index, value, type)`` triples, gathering every failure like cattrs does."""
        results, errors = [], []
        for index, value, item_type in items:
            try:
                results.append(converter.structure(value, item_type))
            except Exception as exc:  # cattrs reports any exception a hook raises, with its path
                note = IterableValidationNote(f"Structuring @ {index!r}", index, item_type)
                exc.__notes__ = [*getattr(exc, "__notes__", []), note]
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"While structuring {type_!r}", errors, type_)
        return results

    def list_hook(type_):
        (item_type,) = typing.get_args(type_) or (Any,)

        def structure(value, _):
            if not isinstance(value, (list, tuple)):
                raise _expected("a list", value)
            return each(((i, v, item_type) for i, v in enumerate(value)), type_)

        return structure

    def dict_hook(type_):
        _, value_type = typing.get_args(type_) or (str, Any)

        def structure(value, _):
            if not isinstance(value, Mapping):
                raise _expected("a mapping", value)
            keys = list(value)
            for key in keys:
                if not isinstance(key, str):
                    raise _Mismatch(f"expected string keys, found {describe_value(key)} key {key!r}")
            values = each(((k, value[k], value_type) for k in keys), type_)
            return dict(zip(keys, values))

        return structure

    def class_hook(cls):
        generated = make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True, _cattrs_detailed_validation=True)

        def structure(value, _):
            if not isinstance(value, Mapping):
                raise _expected("a mapping", value)
            return generated(value, cls)

        return structure

    converter.register_structure_hook_factory(lambda t: _origin(t) is list, list_hook)
    converter.register_structure_hook_factory(lambda t: _origin(t) is dict, dict_hook)
    converter.register_structure_hook_factory(attrs.has, class_hook)
    return converter


def _problems(exc: BaseException, path: tuple) -> list[tuple[tuple, str, str | None]]:
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
        found = []
        gathering = {f.name for f in attrs.fields(exc.cl) if "pass_through" in f.metadata} \
            if isinstance(exc, ClassValidationError) and attrs.has(exc.cl) else set()
        for sub, sub_note in with_notes:
            step = sub_note.name if isinstance(sub_note, AttributeValidationNote) else sub_note.index
            # a pass-through field has no key of its own: its keys sit in the block itself
            found += _problems(sub, path if step in gathering else path + (step,))
        for sub in without_notes:
            found += _problems(sub, path)
        return found
    if isinstance(exc, KeyError):
        return [(path, "required key is missing", "add it")]
    if isinstance(exc, (_Mismatch, ValueError)):
        return [(path, str(exc), None)]
    return [(path, f"invalid value ({type(exc).__name__}: {exc})", None)]


def _key_path(where: str, path: tuple) -> str:
    text = where
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    return text


def structure_settings(cls: type, data: Any, *, where: str, environ: Mapping[str, str] | None = None,
                       notes: list | None = None, lenient: bool = False) -> Any:
    """Build ``cls`` from the block ``data`` found at key path ``where``.

    A field left out of the block takes its ``env`` variable from ``environ`` (default
    ``os.environ``) when it names one and it is set. Old spellings and pass-through keys are
    read as :mod:`~matterstack.plugins.settings_keys` says, adding a note to ``notes`` for
    each; ``lenient`` (a file written by 0.2.x) turns unknown keys into warnings. Raises one
    :class:`ConfigError` (``<where>.<key path>: expected ..., found ...``) for the first
    problem, counting the rest; a validator's ``ValueError`` reads as its message.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a mapping, found {describe_value(data)}", where=where)
    environ = os.environ if environ is None else environ
    data = dict(normalize_keys(cls, data, where=where, notes=notes, lenient=lenient))
    for field in attrs.fields(cls):
        variable = field.metadata.get("env")
        if field.name not in data and variable and variable in environ:
            data[field.name] = environ[variable]
    try:
        return _converter().structure(data, cls)
    except Exception as exc:  # every failure becomes one ConfigError with its key path
        problems = _problems(exc, ()) or [((), f"invalid settings ({type(exc).__name__}: {exc})", None)]
    path, what, fix = problems[0]
    if len(problems) > 1:
        what += f" (and {len(problems) - 1} more problem(s) in {where})"
    raise ConfigError(what, where=_key_path(where, path), fix=fix)
