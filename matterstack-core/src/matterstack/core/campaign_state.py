"""What ``campaign_state.json`` holds: the text of whatever ``analyze`` returned.

MatterStack 0.2.x saved a pydantic model returned by ``analyze`` with ``model_dump_json()``
(compact, in the model's field order) and plain values with ``json.dumps``; it handed the
file back to the next ``analyze`` as plain JSON values. Both are kept as they were, so a
0.2.x campaign that keeps its state in a model runs unchanged. A dataclass or attrs instance
(0.2.x silently saved nothing for those) is saved as the JSON object of its fields, and so
is one of these nested in plain values. Pydantic is recognised by its methods, never
imported: core does not depend on it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import attrs

from matterstack.errors import MatterStackError

SAVEABLE = ("plain JSON values (dict, list, str, int, float, bool, None), a dataclass, "
            "an attrs class or a pydantic model")


class CampaignStateError(MatterStackError):
    """``analyze`` returned something ``campaign_state.json`` cannot hold."""


def campaign_state_text(state: Any) -> str:
    """The text of ``campaign_state.json`` for ``state``, or :class:`CampaignStateError`
    naming the value it cannot hold and what to return instead."""
    if _is_pydantic_model(state):
        try:
            return state.model_dump_json()  # byte for byte what 0.2.6 wrote
        except Exception as exc:  # pydantic's own serialization error: the model holds the culprit
            raise CampaignStateError(
                f"analyze() returned {_a(type(state).__name__)} that pydantic cannot write as JSON "
                f"({' '.join(str(exc).split())})",
                fix=f"give the model only fields JSON can hold, or return {SAVEABLE}") from None
    try:
        # Strict JSON: NaN and Infinity are not JSON, and other readers of the file refuse them.
        return json.dumps(state, default=_fields_of, allow_nan=False)
    except (TypeError, ValueError):
        raise _unsaveable(state) from None


def _is_pydantic_model(value: Any) -> bool:
    return callable(getattr(value, "model_dump_json", None)) and not isinstance(value, type)


def _fields_of(value: Any) -> Any:
    """What ``json.dumps`` writes for a value that is not plain JSON: a model's JSON dump, a
    dataclass's or attrs instance's fields (their own values are converted the same way)."""
    if _is_pydantic_model(value) and callable(getattr(value, "model_dump", None)):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if attrs.has(type(value)):
        return {field.name: getattr(value, field.name) for field in attrs.fields(type(value))}
    raise TypeError(type(value).__name__)


def _unsaveable(state: Any) -> CampaignStateError:
    """The error naming the first value of ``state`` JSON cannot hold, and where it is."""
    returned = f"analyze() returned {_a(type(state).__name__)}"
    found = _first_unsaveable(state, "", set())
    if found is None:  # json refused what the walk allows (a model's dump, say)
        return CampaignStateError(f"{returned} that campaign_state.json cannot hold", fix=f"return {SAVEABLE}")
    where, kind, culprit = found
    if kind == "number":
        return CampaignStateError(
            f"{returned} whose {where or 'value'} is {culprit}, which JSON cannot hold",
            fix="JSON has no NaN or Infinity: store None or a string such as 'nan' instead")
    if kind == "cycle":
        return CampaignStateError(f"{returned} holding itself at {where}", fix=f"return {SAVEABLE}, without cycles")
    if kind == "key":
        return CampaignStateError(f"{returned} whose key {where} is {_a(culprit)}, which campaign_state.json cannot hold",
                                  fix=f"return {SAVEABLE}; give dicts str keys")
    inside = f" whose {where} is {_a(culprit)}" if where else ""
    return CampaignStateError(
        f"{returned}{inside}, which campaign_state.json cannot hold",
        fix=f"return {SAVEABLE}; convert the {culprit} first (to a list, str or dict)")


def _a(name: str) -> str:
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _first_unsaveable(value: Any, where: str, seen: set[int]) -> tuple[str, str, str] | None:
    """``(path, kind, type name)`` of the first thing below ``value`` that JSON cannot hold
    (kind ``value``, ``number``, ``key`` or ``cycle``), its path written as a person would
    (``['runs'][2].energy``); None if there is none."""
    if isinstance(value, float) and not math.isfinite(value):
        return where, "number", repr(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return None
    if id(value) in seen:
        return where, "cycle", type(value).__name__
    seen = seen | {id(value)}
    if isinstance(value, dict):
        for key in value:
            if not (key is None or isinstance(key, (str, int, float, bool))):
                return f"{where}[{key!r}]", "key", type(key).__name__
        items = ((f"[{key!r}]", item) for key, item in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"[{index}]", item) for index, item in enumerate(value))
    else:
        try:
            fields = _fields_of(value)
        except Exception:  # not convertible, or a model that cannot dump itself
            return where, "value", type(value).__name__
        if _is_pydantic_model(value):
            return None
        items = ((f".{name}", item) for name, item in fields.items())
    for piece, item in items:
        found = _first_unsaveable(item, where + piece, seen)
        if found:
            return found
    return None
