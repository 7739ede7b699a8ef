"""The operator registry of a run: one operator object per configured key.

Operators are created lazily on first use and reused for the life of the process, so an
SSH connection or an HTTP session is opened once, not once per tick. Which keys exist and
how each is configured (the *wiring*, :mod:`matterstack.wiring.model`) comes from
``operators.yaml`` or the embedded default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from matterstack.errors import MatterStackError, PluginError, TransientOperatorError

if TYPE_CHECKING:
    from matterstack.plugins.host import PluginHost
    from matterstack.plugins.interfaces import Operator, OperatorContext
    from matterstack.wiring.model import Wiring


def unbuildable_reason(key: str, failure: MatterStackError) -> str:
    """Why an attempt on ``key`` fails at once: its operator cannot be built."""
    return f"operator {key} cannot be built: {failure.one_line()}"


class OperatorRegistry:
    """Operator objects by key, built on first use from the wiring and the plugin host."""

    def __init__(self, wiring: Wiring, host: PluginHost, context_factory: Callable[[], OperatorContext]):
        self.wiring = wiring
        self.host = host
        self._context_factory = context_factory
        self._operators: dict[str, Operator] = {}
        self._failures: dict[str, MatterStackError] = {}

    def keys(self) -> list[str]:
        return sorted(self.wiring.instances)

    def has(self, key: str) -> bool:
        return key in self.wiring.instances

    def max_concurrent(self, key: str) -> int | None:
        """The most attempts of ``key`` active at once (None: no limit, or not configured)."""
        instance = self.wiring.instances.get(key)
        return None if instance is None else instance.max_concurrent

    def get(self, key: str) -> Operator:
        """The operator for ``key``; raises PluginError if it is not configured or its
        plugin cannot build it (the failure is remembered, so it is reported once per run
        of the process, not retried on every attempt)."""
        if key in self._operators:
            return self._operators[key]
        if key in self._failures:
            raise self._failures[key]
        instance = self.wiring.instances.get(key)
        if instance is None:
            raise PluginError(self.missing_key_reason(key))
        try:
            registration = self.host.operator_kind(instance.kind)
            context = attrs.evolve(self._context_factory(), operator_key=key)
            operator = registration.factory(key, instance.settings, context)
        except MatterStackError as exc:
            self._failures[key] = exc
            raise
        self._operators[key] = operator
        return operator

    def build_failure(self, key: str) -> MatterStackError | None:
        """Why the operator of configured ``key`` can never be built in this process (its
        plugin's factory fails: a target that does not resolve, bad settings), else None.
        A transient error while building says nothing for good: None, and it is met again."""
        try:
            self.get(key)
        except TransientOperatorError:
            self._failures.pop(key, None)
            return None
        except MatterStackError as exc:
            return exc
        return None

    def missing_key_reason(self, key: str) -> str:
        """Why ``key`` cannot be used: not configured, and for an uninstalled kind, what to
        install."""
        configured = ", ".join(self.keys()) or "none"
        reason = f"operator key {key!r} is not configured (configured: {configured})"
        kind = key.split(".", 1)[0]
        hint = None if kind in self.host.operator_kinds else self.host.install_hint(kind)
        if hint:
            reason += f"; kind {kind!r} is not installed: {hint}"
        else:
            reason += f"; add {key} to operators.yaml"
        return reason

    def close(self) -> None:
        """Release what operators hold open (connections), if they say how."""
        for operator in self._operators.values():
            close = getattr(operator, "close", None)
            if callable(close):
                close()
        self._operators.clear()
