"""Outages for the conformance kit.

:class:`UnreachableOperator` is a **fake**, and named as one: it stands in for an operator
whose outside system cannot be reached and raises :class:`TransientOperatorError` from every
call. The kit uses it only when a kind's test does not say how to make its real system
unreachable (a closed port, a stopped daemon); such a test's id carries ``fake-unreachable``.

:class:`PinnableRegistry` is a run's operator registry in which one key's operator can be
replaced for a while, so a real tick meets the outage.
"""

from __future__ import annotations

from matterstack.errors import TransientOperatorError
from matterstack.orchestrator.operator_registry import OperatorRegistry
from matterstack.plugins.interfaces import Operator


class UnreachableOperator(Operator):
    """FAKE: an operator whose outside system is down; every call raises TransientOperatorError."""

    def __init__(self, wrapped: Operator):
        super().__init__(wrapped.key, wrapped.settings, wrapped.context)
        self.wrapped = wrapped

    def _down(self, action: str) -> TransientOperatorError:
        return TransientOperatorError(f"{action}: the outside system of {self.key} cannot be reached "
                                      "(simulated by the conformance kit's UnreachableOperator)",
                                      fix="the next tick retries")

    def prepare(self, attempt):
        raise self._down("prepare")

    def submit(self, attempt):
        raise self._down("submit")

    def poll(self, attempts):
        raise self._down("poll")

    def reconcile(self, attempts):
        raise self._down("reconcile")

    def collect(self, attempt):
        raise self._down("collect")

    def cancel(self, attempt):
        raise self._down("cancel")

    def describe_wait(self, attempt):
        raise self._down("describe_wait")


class PinnableRegistry(OperatorRegistry):
    """An :class:`OperatorRegistry` whose :meth:`get` answers a pinned operator for a key."""

    def __init__(self, wiring, host, context_factory):
        super().__init__(wiring, host, context_factory)
        self.pinned: dict[str, Operator] = {}

    def get(self, key: str):
        """The pinned operator for ``key`` if there is one, else the configured one."""
        if key in self.pinned:
            return self.pinned[key]
        return super().get(key)
