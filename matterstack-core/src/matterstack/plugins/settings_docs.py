"""A settings class as a Markdown table: what ``matterstack plugins --settings`` prints, what
docs/operators.md shows for the first-party kinds and backends, and what a plugin's README
can include (the docs tests compare them with this output)."""

from __future__ import annotations

import enum
import typing
from typing import Any

import attrs

_TYPE_WORDS = {str: "string", int: "integer", float: "number", bool: "true/false", typing.Any: "any"}


def _type_word(type_: Any) -> str:
    args = [a for a in typing.get_args(type_) if a is not type(None)]
    origin = typing.get_origin(type_)
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{choice}`" for choice in typing.get_args(type_))
    if isinstance(type_, type) and issubclass(type_, enum.Enum):
        return "one of " + ", ".join(f"`{member.value}`" for member in type_)
    if origin in (list, tuple, set):
        return f"list of {_type_word(args[0])}s" if args else "list"
    if origin is dict or type_ is dict:
        return "mapping"
    if args and origin is not None:
        return " or ".join(_type_word(a) for a in args)
    if attrs.has(type_):
        return "mapping"
    return _TYPE_WORDS.get(type_, getattr(type_, "__name__", str(type_)))


def _default_word(field: attrs.Attribute) -> str:
    default = field.default
    if default is attrs.NOTHING:
        return "required"
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return "`[]`" if default.factory is list else "`{}`"
    if default is None:
        return "-"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, enum.Enum):
        return f"`{default.value}`"
    return f"`{default}`"


def _meaning(field: attrs.Attribute) -> str:
    """The help text and what else the field says: bounds, its variable, old spellings."""
    metadata = field.metadata
    text = str(metadata.get("help", "")).replace("|", "\\|")
    bounds = [f"at least {metadata['min']}" if metadata.get("min") is not None else "",
              f"at most {metadata['max']}" if metadata.get("max") is not None else ""]
    if any(bounds):
        text += " (" + ", ".join(bound for bound in bounds if bound) + ")"
    if metadata.get("env"):
        text += f" (environment: `{metadata['env']}`" + ("; a secret, never written in the file)" if metadata.get("secret") else ")")
    if metadata.get("aliases"):
        text += " (0.2.x: " + ", ".join(f"`{alias}`" for alias in metadata["aliases"]) + ")"
    return text


def settings_rows(cls: type, prefix: str = "") -> list[str]:
    """One Markdown table row per field of settings class ``cls`` (nested classes dotted)."""
    rows = []
    hints = typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        # a pass-through field has no key of its own: it stands for the block's other keys
        if "pass_through" in field.metadata:
            rows.append(f"| `{prefix}*` | {_type_word(typing.get_args(hints[field.name])[1])} | - | {_meaning(field)} |")
            continue
        name = f"{prefix}{field.name}"
        rows.append(f"| `{name}` | {_type_word(hints[field.name])} | {_default_word(field)} | {_meaning(field)} |")
        for inner in (hints[field.name], *typing.get_args(hints[field.name])):
            if attrs.has(inner):
                rows += settings_rows(inner, f"{name}.")
    return rows


def settings_table(cls: type) -> str:
    """The Markdown table of settings class ``cls``: key, type, default, meaning."""
    rows = settings_rows(cls)
    if not rows:
        return "(no settings)\n"
    return "| key | type | default | meaning |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"


def settings_sections(host, name: str | None = None) -> str:
    """A ``###`` section with the settings table of every operator kind and compute backend
    of ``host`` (only those called ``name``, when given), third-party ones included."""
    sections = []
    for category, registry in (("kind", host.operator_kinds), ("backend", host.compute_backends)):
        for registered, registration in registry.items():
            if name is None or registered == name:
                sections.append(f"### {category} `{registered}` ({registration.distribution})\n\n"
                                f"{settings_table(registration.settings)}")
    return "\n".join(sections)
