"""A request's schema as form fields, and a submitted form back as the answer's data.

One field per property of the schema: a choice list for an ``enum`` and for true/false,
check boxes for a list of choices, a text box otherwise. Text is read as the field's type
asks: a number field's ``12`` is the number 12, a text field's ``12`` stays text, a list
field takes JSON (``["Pt", "Pd"]``) or comma-separated items (``Pt, Pd``). Nothing is
checked here: the data goes to :func:`matterstack_ops_human.answering.answer`, which checks
it exactly as ``human respond`` does, and :func:`errors_by_field` puts its messages next to
the fields they name.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import attrs

from matterstack_ops_human.response import load_json
from matterstack_ops_human.schema import TYPE_NAMES, field_path, has_type, show

FIELD_PREFIX = "field."
JSON_DATA_FIELD = "data_json"
"""The one text area of a schema without properties: the whole data as a JSON object."""


@attrs.frozen
class Choice:
    value: str  # the JSON text of the option, as the form sends it back
    label: str


@attrs.frozen
class Field:
    """One input of the answer form."""

    name: str
    label: str
    widget: str  # "text", "select" or "checkboxes"
    required: bool
    hint: str
    choices: tuple[Choice, ...] = ()
    default: str = ""

    @property
    def input_name(self) -> str:
        return FIELD_PREFIX + self.name

    @property
    def path(self) -> str:
        """How the answer's messages name this field: ``data.keep``."""
        return field_path("data", self.name)


def _types(schema: dict) -> list[str]:
    types = schema.get("type")
    return [] if types is None else [types] if isinstance(types, str) else list(types)


def _choice(value: Any) -> Choice:
    return Choice(json.dumps(value, ensure_ascii=False), value if isinstance(value, str) else show(value))


def _hint(schema: dict) -> str:
    parts = []
    types = _types(schema)
    if types:
        parts.append(" or ".join(TYPE_NAMES[t] for t in types))
    if "array" in types and _types(schema.get("items", {})):
        parts[-1] += " (comma-separated, or JSON)"
    if "minimum" in schema:
        parts.append(f"at least {show(schema['minimum'])}")
    if "maximum" in schema:
        parts.append(f"at most {show(schema['maximum'])}")
    if schema.get("description"):
        parts.append(str(schema["description"]))
    return "; ".join(parts)


def _default_text(schema: dict) -> str:
    if "default" not in schema:
        return ""
    value = schema["default"]
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return json.dumps(value, ensure_ascii=False)


def form_fields(schema: dict) -> list[Field]:
    """The form's fields for a data schema (an object schema ``data_schema_for`` returned)."""
    required = set(schema.get("required", []))
    fields = []
    for name, sub in schema.get("properties", {}).items():
        label = str(sub.get("title") or name)
        types, items = _types(sub), sub.get("items", {})
        common = dict(name=name, label=label, required=name in required, hint=_hint(sub))
        if "enum" in sub:
            fields.append(Field(widget="select", choices=tuple(map(_choice, sub["enum"])),
                                default=json.dumps(sub["default"]) if "default" in sub else "", **common))
        elif types == ["boolean"]:
            fields.append(Field(widget="select", choices=(Choice("true", "yes"), Choice("false", "no")),
                                default=json.dumps(sub["default"]) if "default" in sub else "", **common))
        elif types == ["array"] and "enum" in items:
            fields.append(Field(widget="checkboxes", choices=tuple(map(_choice, items["enum"])), **common))
        else:
            fields.append(Field(widget="text", default=_default_text(sub), **common))
    return fields


def takes_any_data(schema: dict) -> bool:
    """Whether the schema names no fields, so the form offers one JSON text area instead."""
    return not schema.get("properties")


def typed_value(text: str, schema: dict) -> Any:
    """A text box's value as the field's schema asks (see the module's docstring)."""
    types = _types(schema)
    parsed, error = load_json(text)
    if error is None and (not types or any(has_type(parsed, t) for t in types)):
        return parsed
    if "string" in types or (not types and error is not None):
        return text
    if "array" in types:
        return [typed_value(item.strip(), schema.get("items", {})) for item in text.split(",") if item.strip()]
    return parsed if error is None else text  # the check says what is wrong with it


def _sent_choice(text: str) -> Any:
    """A choice as sent back (its JSON text); text that is not JSON (a hand-made request)
    stays text, and the check refuses it as no choice."""
    value, error = load_json(text)
    return text if error is not None else value


def form_data(schema: dict, get: Callable[[str], str | None], getlist: Callable[[str], list[str]]
              ) -> tuple[dict, list[str]]:
    """The answer's data from a submitted form (``get``/``getlist`` read its values), and the
    problems found reading it (a JSON text area that is not a JSON object)."""
    if takes_any_data(schema):
        text = (get(JSON_DATA_FIELD) or "").strip()
        if not text:
            return {}, []
        value, error = load_json(text)
        if error is not None or not isinstance(value, dict):
            return {}, [f"data: expected a JSON object ({error or f'found {show(value)}'})"]
        return value, []
    data: dict = {}
    for field in form_fields(schema):
        if field.widget == "checkboxes":
            data[field.name] = [_sent_choice(value) for value in getlist(field.input_name)]
            continue
        text = (get(field.input_name) or "").strip()
        if not text:
            continue  # left empty: absent (the check reports a required field)
        data[field.name] = _sent_choice(text) if field.widget == "select" else typed_value(
            text, schema["properties"][field.name])
    return data, []


def errors_by_field(problems: list[str], fields: list[Field]) -> tuple[dict[str, list[str]], list[str]]:
    """The answer's problems grouped under the field each names (``data.keep[2]: ...`` goes
    to ``keep``), and those that name no field."""
    by_field: dict[str, list[str]] = {}
    rest = []
    for problem in problems:
        owner = next((f for f in fields if any(problem.startswith(f.path + mark) for mark in (":", "[", "."))), None)
        if owner is None:
            rest.append(problem)
        else:
            by_field.setdefault(owner.name, []).append(problem[len(owner.path):].lstrip(":").strip() or problem)
    return by_field, rest
