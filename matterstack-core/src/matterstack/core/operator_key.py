"""Operator keys: the canonical ``kind.name`` that says where an attempt is carried out.

The kind (before the first dot) selects the plugin, the name (everything after it) selects
the configured instance: ``hpc.default``, ``hpc.dev``, ``hpc.cluster-a.gpu``.

* :func:`parse_operator_key` is strict: configuration files must spell keys canonically.
* :func:`normalize_operator_key` is lenient, for keys typed by people or carried in task
  environments by 0.2.x campaigns (``"HPC"``, ``" Human "``).
* :func:`resolve_attempt_operator_key` and :func:`route_new_task` implement the two routing
  precedences of the design (existing attempts, new attempts).
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

import attrs

from matterstack.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from matterstack.core.workflow import Task

DEFAULT_OPERATOR_KEY = "local.default"
"""The routing default of a run whose wiring names none."""

OPERATOR_ENV_VAR = "MATTERSTACK_OPERATOR"
"""The task environment variable through which 0.2.x campaigns chose an operator."""

LEGACY_OPERATOR_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "HPC": "hpc.default",
        "Local": "local.default",
        "Human": "human.default",
        "Experiment": "experiment.default",
        "ManualHPC": "manual_hpc.default",
    }
)
"""0.2.x operator names (``operator_type``) and the key each stands for; matched in any case."""

_LEGACY_BY_LOWER = {name.lower(): key for name, key in LEGACY_OPERATOR_TYPES.items()}
_KIND = re.compile(r"[a-z][a-z0-9_]*")
_NAME_SEGMENT = re.compile(r"[a-z0-9][a-z0-9_-]*")
_FIX = "write it as kind.name in lower case, e.g. 'hpc.default' or 'hpc.cluster-a.gpu'"
# Keys already normalized, by the text given: a tick normalizes the key of every attempt it
# routes, polls or records, and a site has a handful of keys. Only valid keys are kept, and
# only so many (texts from bad input never fill memory).
_NORMALIZED: dict[str, str] = {}
_NORMALIZED_KEPT = 1024


@attrs.frozen
class OperatorKey:
    """A canonical operator key; ``str(key)`` is ``"kind.name"``."""

    kind: str
    name: str

    def __attrs_post_init__(self) -> None:
        text = f"{self.kind}.{self.name}"
        if _split_canonical(text, where=None) != (self.kind, self.name):
            raise ConfigError(
                f"operator key kind {self.kind!r} may not contain a dot", fix=_FIX
            )

    def __str__(self) -> str:
        return f"{self.kind}.{self.name}"


@attrs.frozen
class ResolvedOperatorKey:
    """The key of an existing attempt and the level of the precedence that supplied it.

    Both are ``None`` when no level names a usable key (a "stub" attempt, an unknown
    legacy operator type).
    """

    key: str | None
    source: Literal["column", "operator_data", "operator_type"] | None


@attrs.frozen
class RoutedOperatorKey:
    """The key a new attempt of a task goes to and the level that decided it."""

    key: str
    source: Literal["task", "env", "task_type", "default"]


def parse_operator_key(text: str, *, where: str | None = None) -> OperatorKey:
    """Parse a canonical key strictly; raise :class:`ConfigError` naming the rule broken.

    ``where`` (a file and key path) is carried into the error.
    """
    kind, name = _split_canonical(text, where=where)
    return OperatorKey(kind, name)


def normalize_operator_key(text: str, *, where: str | None = None) -> str:
    """Return the canonical form of a key given by a person or a 0.2.x task.

    Strips surrounding whitespace, lower-cases, maps the legacy names of
    :data:`LEGACY_OPERATOR_TYPES`, then validates strictly. Idempotent.
    """
    if not isinstance(text, str):
        raise ConfigError(f"operator key must be text, got {text!r}", where=where, fix=_FIX)
    known = _NORMALIZED.get(text)
    if known is not None:
        return known
    lowered = text.strip().lower()
    key = str(parse_operator_key(_LEGACY_BY_LOWER.get(lowered, lowered), where=where))
    if len(_NORMALIZED) < _NORMALIZED_KEPT:
        _NORMALIZED[text] = key
    return key


def legacy_operator_type_key(operator_type: str | None) -> str | None:
    """The key a 0.2.x ``operator_type`` stands for (any case), or ``None`` ("stub", unknown)."""
    if not isinstance(operator_type, str):
        return None
    return _LEGACY_BY_LOWER.get(operator_type.strip().lower())


def resolve_attempt_operator_key(
    column: str | None,
    operator_data: dict | None,
    operator_type: str | None,
) -> ResolvedOperatorKey:
    """Which operator instance an existing attempt belongs to.

    Precedence: the ``operator_key`` column → ``operator_data["operator_key"]`` → the
    legacy mapping of ``operator_type``. A level that is absent or invalid falls through
    to the next one, so one damaged value never hides a usable one.
    """
    candidates: tuple[tuple[object, Literal["column", "operator_data"]], ...] = (
        (column, "column"),
        (operator_data.get("operator_key") if isinstance(operator_data, dict) else None,
         "operator_data"),
    )
    for value, source in candidates:
        key = _lenient_or_none(value)
        if key is not None:
            return ResolvedOperatorKey(key, source)
    legacy = legacy_operator_type_key(operator_type)
    if legacy is not None:
        return ResolvedOperatorKey(legacy, "operator_type")
    return ResolvedOperatorKey(None, None)


def route_new_task(task: Task, default_key: str = DEFAULT_OPERATOR_KEY) -> RoutedOperatorKey:
    """Which operator instance a new attempt of ``task`` goes to.

    Precedence: ``task.operator_key`` → ``task.env["MATTERSTACK_OPERATOR"]`` → the task
    type's own key (a gate goes to people, an external task to the lab) → ``default_key``.
    Unlike existing attempts, an invalid value does not fall through: the campaign asked
    for something specific, so a bad key raises :class:`ConfigError` naming task and value.
    """
    levels: tuple[tuple[str | None, Literal["task", "env", "task_type"], str], ...] = (
        (task.operator_key, "task", "operator_key"),
        (task.env.get(OPERATOR_ENV_VAR), "env", f"env[{OPERATOR_ENV_VAR!r}]"),
        (task.default_operator_key, "task_type", f"default of {task.task_type}"),
    )
    for value, source, label in levels:
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        return RoutedOperatorKey(_routed(value, task.task_id, label), source)
    return RoutedOperatorKey(_routed(default_key, task.task_id, "the run's default operator"), "default")


def _routed(value: str, task_id: str, label: str) -> str:
    try:
        return normalize_operator_key(value)
    except ConfigError as error:
        raise ConfigError(f"task {task_id!r} ({label}): {error.what}", fix=error.fix) from None


def _lenient_or_none(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return normalize_operator_key(value)
    except ConfigError:
        return None


def _split_canonical(text: object, *, where: str | None) -> tuple[str, str]:
    def fail(rule: str) -> ConfigError:
        return ConfigError(f"operator key {text!r} {rule}", where=where, fix=_FIX)

    if not isinstance(text, str):
        raise fail("is not text")
    if not text:
        raise fail("is empty")
    if text != text.strip():
        raise fail("has leading or trailing whitespace")
    if any(char.isspace() for char in text):
        raise fail("contains whitespace")
    if text != text.lower():
        raise fail("contains upper case letters")
    if "." not in text:
        raise fail("has no dot between kind and name")
    if ".." in text:
        raise fail("contains '..' (an empty part)")
    kind, name = text.split(".", 1)
    if not kind:
        raise fail("has an empty kind before the first dot")
    if not name or name.endswith("."):
        raise fail("has an empty name part")
    if not _KIND.fullmatch(kind):
        raise fail(f"has kind {kind!r}, which must be a letter followed by a-z, 0-9 or _")
    for segment in name.split("."):
        if not _NAME_SEGMENT.fullmatch(segment):
            raise fail(
                f"has name part {segment!r}, which must be a-z or 0-9 followed by a-z, 0-9, _ or -"
            )
    return kind, name
