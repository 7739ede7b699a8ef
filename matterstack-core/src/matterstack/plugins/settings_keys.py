"""How the keys of a settings block are read before its values are: old spellings, pass-through
options, unknown keys and what a person is told about each.

A field may name ``aliases`` (the spellings MatterStack 0.2.x used): a block that uses one is
read as if it used the field's name, and a :class:`SettingsNote` says so. A field made with
:func:`pass_through` gathers the keys that name no field but that its table of spellings
knows (Slurm's sbatch options, a lab's own API keys), under their canonical names; the field's
own name is not a key of the block. A field that takes every key (:data:`ANY_KEY`) still
refuses a near-miss of one of the block's own keys (``tokn_env``), since that is a typo far
more often than a key of the site's own. Any other key is an error that suggests the nearest
known one; in a file written by 0.2.x (``lenient``), which ignored such keys, it is a warning
and the key is dropped.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Mapping
from typing import Any

import attrs

from matterstack.errors import ConfigError

ANY_KEY = "*"
"""The table of a :func:`pass_through` field that takes every string key as it is written."""


@attrs.frozen
class SettingsNote:
    """Something a person should know about a file that is nonetheless valid: ``level`` is
    ``note`` (an old spelling was read as the new one) or ``warning`` (a key was ignored)."""

    level: str
    where: str
    message: str

    def one_line(self) -> str:
        return f"{self.level}: {self.where} {self.message}"


def pass_through(*, help: str, spellings: Mapping[str, str] | str, hint: str) -> Any:
    """A field gathering the block's other keys, as ``{canonical name: value}``.

    ``spellings`` maps every accepted spelling to its canonical name (or is :data:`ANY_KEY`
    to take every key as written); ``hint`` ends the fix of an unknown key, e.g.
    ``or any long option sbatch documents``. The field has no key of its own in the block.
    """
    return attrs.field(factory=dict, metadata={"help": help, "env": None, "pass_through": spellings, "hint": hint})


def edit_distance(a: str, b: str) -> int:
    """Insertions, deletions, substitutions and swaps of neighbours that turn ``a`` into ``b``."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def nearest_key(word: str, known) -> str | None:
    """The known key a mistyped ``word`` most likely meant: fewest edits, then the closest
    spelling; None when nothing is near enough to be a typo of it."""
    import difflib

    best = None
    for candidate in sorted(set(known)):
        distance = edit_distance(word.lower(), candidate.lower())
        ratio = difflib.SequenceMatcher(None, word.lower(), candidate.lower()).ratio()
        rank = (distance, -ratio)
        if best is None or rank < best[0]:
            best = (rank, candidate)
    if best is None:
        return None
    (distance, _), candidate = best
    return candidate if distance <= max(2, len(word) // 3) else None


def unknown_key_fix(word: str, known, shown, hint: str = "") -> str:
    """The fix of an unknown key: the nearest known key, then what is allowed."""
    listed = ", ".join(shown) or "none"
    rest = f"remove it; known keys: {listed}{', ' + hint if hint else ''}"
    suggestion = nearest_key(word, known)
    return f"did you mean {suggestion!r}? otherwise {rest}" if suggestion else rest


@functools.cache
def _shape(cls: type) -> tuple:
    """``(field names, alias -> field, pass-through field or None, nested class by field)``."""
    attrs.resolve_types(cls)
    fields = attrs.fields(cls)
    extra = next((f for f in fields if "pass_through" in f.metadata), None)
    names = tuple(f.name for f in fields if f is not extra)
    aliases = {alias: f.name for f in fields for alias in f.metadata.get("aliases", ())}
    nested = {f.name: inner for f in fields if (inner := nested_settings_class(f.type)) is not None}
    return names, aliases, extra, nested


def nested_settings_class(type_: Any) -> type | None:
    """The settings class a field of type ``type_`` holds (``Api`` or ``Api | None``), else None."""
    if attrs.has(type_):
        return type_
    options = [arg for arg in typing.get_args(type_) if arg is not type(None)]
    if typing.get_origin(type_) in (typing.Union, types.UnionType) and len(options) == 1:
        return options[0] if attrs.has(options[0]) else None
    return None


def unknown_key_fix_for(cls: type, key: str) -> str:
    """The fix of ``key``, unknown in a block of ``cls``: the nearest known key, the fields,
    and what else the block takes."""
    names, _, extra, _ = _shape(cls)
    return unknown_key_fix(key, known_keys(cls), names, extra.metadata["hint"] if extra is not None else "")


def known_keys(cls: type) -> list[str]:
    """Every key a block of ``cls`` takes: field names, aliases and pass-through spellings."""
    names, aliases, extra, _ = _shape(cls)
    spellings = extra.metadata["pass_through"] if extra is not None else {}
    return [*names, *aliases, *(spellings if isinstance(spellings, Mapping) else ())]


def normalize_keys(cls: type, data: Any, *, where: str, notes: list | None, lenient: bool,
                   as_written: bool = False) -> Any:
    """``data`` with old spellings renamed, pass-through keys gathered and (``lenient``)
    unknown keys dropped, for every nested settings block too. Values are left to cattrs.
    ``as_written`` keeps every key as it was written and only drops the unknown ones: the
    block a plugin will read again later, as the file said it minus what 0.2.x ignored."""
    if not isinstance(data, Mapping):
        return data
    names, aliases, extra, nested = _shape(cls)
    spellings = extra.metadata["pass_through"] if extra is not None else {}
    out: dict = {}
    gathered: dict = {}
    written: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            out[key] = value
            continue
        if key in names:
            canonical, target = key, out
        elif key in aliases:
            canonical, target = aliases[key], out
            _note(notes, "note", f"{where}.{key}", f"is the 0.2.x spelling of {canonical}")
        elif _passes_through(key, spellings, names, lenient):
            canonical, target = (key if spellings == ANY_KEY else spellings[key]), (out if as_written else gathered)
        elif lenient:
            _note(notes, "warning", f"{where}.{key}", "is ignored: MatterStack 0.2.x ignored it too")
            continue
        elif extra is not None and key == extra.name:
            # cattrs would take it as the field itself, unchecked: it is no key of the block
            raise ConfigError("unknown key", where=f"{where}.{key}", fix=unknown_key_fix_for(cls, key))
        else:  # left for cattrs, which reports it with every other problem of the block
            out[key] = value
            continue
        if canonical in written:
            if values[canonical] != value:
                raise ConfigError(f"given twice, as {written[canonical]} and {key}, with different values",
                                  where=f"{where}.{key}", fix="keep one of the two spellings")
            continue
        written[canonical], values[canonical] = key, value
        target[key if as_written else canonical] = value
    if gathered:
        out[extra.name] = gathered
    for name, inner in nested.items():
        key = written.get(name, name) if as_written else name
        if key in out:
            out[key] = normalize_keys(inner, out[key], where=f"{where}.{key}", notes=notes, lenient=lenient,
                                      as_written=as_written)
    return out


def _passes_through(key: str, spellings: Mapping[str, str] | str, names: tuple, lenient: bool) -> bool:
    """Whether ``key`` belongs to the block's pass-through field. Under :data:`ANY_KEY`, a
    near-miss of a field's name is a typo, except in a file 0.2.x wrote (it took any key there)."""
    if spellings != ANY_KEY:
        return key in spellings
    return lenient or nearest_key(key, names) is None


def _note(notes: list | None, level: str, where: str, message: str) -> None:
    if notes is not None:
        notes.append(SettingsNote(level, where, message))
