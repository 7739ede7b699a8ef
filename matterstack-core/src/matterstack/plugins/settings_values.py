"""How the values of a settings block are read: the cattrs converter and its hooks.

A value must already have the field's type: ``"5"`` is not 5 and ``"yes"`` is not true,
unless the text came from an environment variable (always text), the field says
``from_text=True``, or the file was written by MatterStack 0.2.x (``read_text``), which read
numbers and booleans written as text. Such text arrives wrapped in :class:`Text`. A field's
``min``, ``max`` and ``validator`` are checked as it is structured, so every problem of a
block is reported with its own key path. cattrs is imported only here, on first use.
"""

from __future__ import annotations

import enum
import functools
import typing
from collections.abc import Mapping
from typing import Any

import attrs

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

_BOOLEAN_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


@attrs.frozen
class Text:
    """A value given as text that a number or boolean field may read: from the environment
    variable ``variable`` (None: written as text in the file, where the field allows it)."""

    text: str
    variable: str | None = None


class Mismatch(Exception):
    """A value of the wrong type or out of range; ``fix`` says what to write instead."""

    def __init__(self, message: str, fix: str | None = None):
        super().__init__(message)
        self.fix = fix


def describe_value(value: Any) -> str:
    """How a YAML value is named in messages: ``a string``, ``a list``, ``nothing (null)``."""
    if isinstance(value, Text):
        return f"{value.text!r} (from ${value.variable})" if value.variable else "a string"
    for kind, name in _TYPE_NAMES.items():
        if type(value) is kind:
            return name
    return f"a {type(value).__name__}"


def expected(what: str, value: Any) -> Mismatch:
    """``expected <what>, found <value>``; a number or boolean written as text is told to drop the quotes."""
    if type(value) is str and _reads_as_number_or_boolean(value):
        return Mismatch(f"expected {what}, found {value!r}", f"write {value.strip()} without quotes")
    return Mismatch(f"expected {what}, found {describe_value(value)}")


def _reads_as_number_or_boolean(text: str) -> bool:
    if text.strip().lower() in _BOOLEAN_WORDS:
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def _text_of(value: Any, read_text: bool) -> str | None:
    """The text a number or boolean field may parse: wrapped text, or any string in ``read_text`` mode."""
    if isinstance(value, Text):
        return value.text
    if read_text and isinstance(value, str):
        return value
    return None


def _structure_str(value: Any, _: type) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Text):
        return value.text
    raise expected("a string", value)


def _number_hook(kind: type, what: str, read_text: bool):
    def structure(value: Any, _: type):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and (kind is float or type(value) is int):
            return kind(value)
        text = _text_of(value, read_text)
        if text is not None:
            try:
                return kind(text)
            except ValueError:
                pass
        raise expected(what, value)

    return structure


def _bool_hook(read_text: bool):
    def structure(value: Any, _: type) -> bool:
        if isinstance(value, bool):
            return value
        text = _text_of(value, read_text)
        if text is not None and text.strip().lower() in _BOOLEAN_WORDS:
            return _BOOLEAN_WORDS[text.strip().lower()]
        raise expected("true or false", value)

    return structure


def _structure_scalar(value: Any, _: type) -> Any:
    if isinstance(value, Text):
        return value.text
    if isinstance(value, (str, int, float, bool)):
        return value
    raise expected("a single value (a string, number or boolean)", value)


def _choices_hook(choices: tuple, make=lambda choice: choice):
    """One of ``choices`` (a Literal's values, an enum's values): text from the environment
    matches a choice written the same way."""
    listed = ", ".join(repr(choice) for choice in choices)

    def structure(value: Any, _: type):
        for choice in choices:
            if (type(value) is type(choice) and value == choice) or (isinstance(value, Text) and value.text == str(choice)):
                return make(choice)
        raise Mismatch(f"expected one of {listed}, found {value!r}" if not isinstance(value, Text)
                       else f"expected one of {listed}, found {describe_value(value)}")

    return structure


def _origin(type_: Any) -> Any:
    return typing.get_origin(type_) or type_


def check_value(field: attrs.Attribute, value: Any) -> None:
    """A field's ``min``, ``max`` and ``validator``, on a structured value (None is not checked:
    it is an optional setting left out)."""
    if value is None:
        return
    low, high, validator = (field.metadata.get(name) for name in ("min", "max", "validator"))
    if low is not None and value < low:
        raise Mismatch(f"expected at least {low}, found {value!r}")
    if high is not None and value > high:
        raise Mismatch(f"expected at most {high}, found {value!r}")
    if validator is not None:
        validator(value)


@functools.cache
def settings_converter(read_text: bool = False):
    """The converter of settings blocks; ``read_text`` also reads numbers and booleans
    written as text (a file MatterStack 0.2.x wrote)."""
    import cattrs
    from cattrs.errors import IterableValidationError, IterableValidationNote
    from cattrs.gen import make_dict_structure_fn, override

    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _number_hook(int, "an integer", read_text))
    converter.register_structure_hook(float, _number_hook(float, "a number", read_text))
    converter.register_structure_hook(bool, _bool_hook(read_text))
    converter.register_structure_hook_func(lambda t: t in (Scalar, typing.Optional[Scalar]), _structure_scalar)
    converter.register_structure_hook_factory(
        lambda t: _origin(t) is typing.Literal, lambda t: _choices_hook(typing.get_args(t)))
    converter.register_structure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum),
        lambda t: _choices_hook(tuple(member.value for member in t), t))

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
                raise expected("a list", value)
            return each(((i, v, item_type) for i, v in enumerate(value)), type_)

        return structure

    def dict_hook(type_):
        _, value_type = typing.get_args(type_) or (str, Any)

        def structure(value, _):
            if not isinstance(value, Mapping):
                raise expected("a mapping", value)
            keys = list(value)
            for key in keys:
                if not isinstance(key, str):
                    raise Mismatch(f"expected string keys, found {describe_value(key)} key {key!r}")
            values = each(((k, value[k], value_type) for k in keys), type_)
            return dict(zip(keys, values))

        return structure

    def checked(field: attrs.Attribute):
        def structure(value, type_):
            result = converter.structure(value, type_)
            check_value(field, result)
            return result

        return structure

    def class_hook(cls):
        attrs.resolve_types(cls)
        checks = {field.name: override(struct_hook=checked(field)) for field in attrs.fields(cls)
                  if any(field.metadata.get(name) is not None for name in ("min", "max", "validator"))}
        generated = make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True,
                                           _cattrs_detailed_validation=True, **checks)

        def structure(value, _):
            if not isinstance(value, Mapping):
                raise expected("a mapping", value)
            return generated(value, cls)

        return structure

    converter.register_structure_hook_factory(lambda t: _origin(t) is list, list_hook)
    converter.register_structure_hook_factory(lambda t: _origin(t) is dict, dict_hook)
    converter.register_structure_hook_factory(attrs.has, class_hook)
    return converter
