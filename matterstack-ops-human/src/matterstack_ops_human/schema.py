"""The small JSON-Schema subset people's answers are checked against.

Supported keywords: ``type`` (a name or a list of names), ``required``, ``properties``,
``enum``, ``items``, ``minimum``/``maximum`` and ``additionalProperties`` (true, false or a
schema); ``title``, ``description``, ``default``, ``examples``, ``$schema`` and ``$comment``
are accepted as annotations. :func:`schema_problems` refuses any other keyword, so a
``pattern`` is never silently ignored. :func:`validate` names the failing field in every
message (``data.keep[2]: expected a string, found a number``). Neither raises on JSON values.
"""

from __future__ import annotations

import json
from typing import Any

TYPE_NAMES = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
KEYWORDS = ("type", "required", "properties", "enum", "items", "minimum", "maximum", "additionalProperties")
ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$schema", "$comment"})
SHOWN_CHARS = 60


def json_type(value: Any) -> str:
    """The JSON type name of a parsed JSON value (``integer`` for whole numbers)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def has_type(value: Any, name: str) -> bool:
    """Whether ``value`` is of JSON type ``name`` (every integer is also a number)."""
    actual = json_type(value)
    return actual == name or (name == "number" and actual == "integer")


def describe(value: Any) -> str:
    """``a string``, ``a list``...: how a value's type reads in a message."""
    return TYPE_NAMES.get(json_type(value), f"a {type(value).__name__}")


def show(value: Any) -> str:
    """A value as JSON, cut short for a one-line message."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def field_path(path: str, key: str) -> str:
    """``data.keep``, or ``data["odd key"]`` when the key is not a plain name."""
    if key.isidentifier():
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def json_equal(left: Any, right: Any) -> bool:
    """Equality as JSON sees it: ``true`` is not ``1``, ``1`` is ``1.0``."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    return type(left) is type(right) and left == right or (
        has_type(left, "number") and has_type(right, "number") and left == right
    )


def validate(value: Any, schema: dict, path: str = "") -> list[str]:
    """Every way ``value`` breaks ``schema`` (a schema :func:`schema_problems` accepted)."""
    problems: list[str] = []
    _check(value, schema, path, problems)
    return problems


def _type_names(schema: dict) -> list[str]:
    types = schema.get("type")
    if types is None:
        return []
    return [types] if isinstance(types, str) else list(types)


def _check(value: Any, schema: dict, path: str, out: list[str]) -> None:
    where = path or "the value"
    names = _type_names(schema)
    if names and not any(has_type(value, name) for name in names):
        expected = " or ".join(TYPE_NAMES[name] for name in names)
        out.append(f"{where}: expected {expected}, found {describe(value)}")
        return
    if "enum" in schema and not any(json_equal(value, option) for option in schema["enum"]):
        options = ", ".join(show(option) for option in schema["enum"])
        out.append(f"{where}: {show(value)} is not one of {options}")
    if has_type(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{where}: {show(value)} is below the minimum {show(schema['minimum'])}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{where}: {show(value)} is above the maximum {show(schema['maximum'])}")
    if isinstance(value, dict):
        _check_object(value, schema, path, out)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _check(item, schema["items"], f"{path}[{index}]", out)


def _check_object(value: dict, schema: dict, path: str, out: list[str]) -> None:
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            out.append(f"{field_path(path, name)}: required field is missing")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            _check(item, properties[key], field_path(path, key), out)
        elif extra is False:
            allowed = ", ".join(properties) or "none"
            out.append(f"{field_path(path, key)}: unknown field (allowed: {allowed})")
        elif isinstance(extra, dict):
            _check(item, extra, field_path(path, key), out)


def schema_problems(schema: Any, path: str = "schema") -> list[str]:
    """Why ``schema`` is not a schema of the supported subset (empty when it is)."""
    if not isinstance(schema, dict):
        return [f"{path}: expected an object, found {describe(schema)}"]
    problems = []
    for key in schema:
        if key not in KEYWORDS and key not in ANNOTATIONS:
            problems.append(f"{path}: unsupported keyword {key!r} (supported: {', '.join(KEYWORDS)})")
    if "type" in schema:
        problems += _type_problems(schema["type"], f"{path}.type")
    if "required" in schema and not (
        isinstance(schema["required"], list) and all(isinstance(n, str) for n in schema["required"])
    ):
        problems.append(f"{path}.required: expected a list of field names")
    if "properties" in schema:
        if isinstance(schema["properties"], dict):
            for name, sub in schema["properties"].items():
                problems += schema_problems(sub, field_path(f"{path}.properties", name))
        else:
            problems.append(f"{path}.properties: expected an object of field schemas")
    if "enum" in schema and not (isinstance(schema["enum"], list) and schema["enum"]):
        problems.append(f"{path}.enum: expected a non-empty list")
    if "items" in schema:
        problems += schema_problems(schema["items"], f"{path}.items")
    for bound in ("minimum", "maximum"):
        if bound in schema and not has_type(schema[bound], "number"):
            problems.append(f"{path}.{bound}: expected a number, found {describe(schema[bound])}")
    extra = schema.get("additionalProperties", True)
    if not isinstance(extra, bool):
        problems += schema_problems(extra, f"{path}.additionalProperties")
    return problems


def _type_problems(types: Any, path: str) -> list[str]:
    names = [types] if isinstance(types, str) else types
    if not isinstance(names, list) or not names:
        return [f"{path}: expected a type name or a non-empty list of them"]
    unknown = [n for n in names if not isinstance(n, str) or n not in TYPE_NAMES]
    if unknown:
        return [f"{path}: unknown type {show(unknown[0])} (known: {', '.join(TYPE_NAMES)})"]
    return []


def describe_fields(schema: dict) -> list[str]:
    """One line per field of an object schema, for people: ``keep (required): a list or a string``."""
    required = set(schema.get("required", []))
    lines = []
    for name, sub in schema.get("properties", {}).items():
        text = f"{name} ({'required' if name in required else 'optional'})"
        names = _type_names(sub)
        if names:
            text += ": " + " or ".join(TYPE_NAMES[n] for n in names)
            if "items" in sub and _type_names(sub["items"]):
                text += " (items: " + " or ".join(TYPE_NAMES[n] for n in _type_names(sub["items"])) + ")"
        if "enum" in sub:
            text += "; one of " + ", ".join(show(option) for option in sub["enum"])
        if "minimum" in sub:
            text += f"; at least {show(sub['minimum'])}"
        if "maximum" in sub:
            text += f"; at most {show(sub['maximum'])}"
        if sub.get("description"):
            text += f" - {sub['description']}"
        lines.append(text)
    for name in sorted(required - set(schema.get("properties", {}))):
        lines.append(f"{name} (required)")
    if schema.get("additionalProperties", True) is False:
        lines.append("no other fields are allowed")
    return lines
