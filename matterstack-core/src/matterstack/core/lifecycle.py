"""Attempt lifecycle hooks, as MatterStack 0.2.x offered them to ``step_run``.

A hook is an object with four methods, called as attempts move: ``on_create`` (the attempt
is recorded), ``on_submit`` (its operator took it), ``on_complete`` (it COMPLETED) and
``on_fail`` (it FAILED, or could not be started). Pass one to
``step_run(..., lifecycle_hooks=hook)`` or ``run_until_completion(..., lifecycle_hooks=hook)``;
combine several with :class:`CompositeLifecycleHook`.

They are the 0.2.x face of the attempt-transition observer plugin hook
(``matterstack_attempt_transition``): for the length of the call, the hook is registered as
an observer of that run's transitions (see :mod:`matterstack.orchestrator.lifecycle_observer`).
A hook that raises is logged and never stops the run. A cancelled attempt calls no method,
as in 0.2.x.
"""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass
class AttemptContext:
    """Which attempt an event is about: its run, task, id, operator key (None when it has
    none) and index (1 for a task's first attempt)."""

    run_id: str
    task_id: str
    attempt_id: str
    operator_key: str | None
    attempt_index: int


class AttemptLifecycleHook(abc.ABC):
    """React to attempts moving; implement all four methods (no-ops where irrelevant).

    Keep them light: they run inside the tick, after each change was recorded.
    """

    @abc.abstractmethod
    def on_create(self, context: AttemptContext) -> None:
        """The attempt was recorded, before its operator sees it."""

    @abc.abstractmethod
    def on_submit(self, context: AttemptContext, external_id: str | None) -> None:
        """The operator took the attempt; ``external_id`` is its id there (a Slurm job id,
        a pid), or None."""

    @abc.abstractmethod
    def on_complete(self, context: AttemptContext, success: bool) -> None:
        """The attempt COMPLETED (``success`` is always True, as in 0.2.x)."""

    @abc.abstractmethod
    def on_fail(self, context: AttemptContext, error: str) -> None:
        """The attempt FAILED, or could not be started; ``error`` says why."""


class CompositeLifecycleHook(AttemptLifecycleHook):
    """Calls each hook of ``hooks`` in order; one that raises is logged and the others still run."""

    def __init__(self, hooks: list[AttemptLifecycleHook]):
        self.hooks = hooks

    def on_create(self, context: AttemptContext) -> None:
        for hook in self.hooks:
            fire_hook_safely(hook, "on_create", context)

    def on_submit(self, context: AttemptContext, external_id: str | None) -> None:
        for hook in self.hooks:
            fire_hook_safely(hook, "on_submit", context, external_id)

    def on_complete(self, context: AttemptContext, success: bool) -> None:
        for hook in self.hooks:
            fire_hook_safely(hook, "on_complete", context, success)

    def on_fail(self, context: AttemptContext, error: str) -> None:
        for hook in self.hooks:
            fire_hook_safely(hook, "on_fail", context, error)


class LoggingHook(AttemptLifecycleHook):
    """Logs each event to the logger ``logger_name`` (failures at ERROR, the rest at INFO),
    in 0.2.x's words."""

    def __init__(self, logger_name: str = "matterstack.lifecycle"):
        self._logger = logging.getLogger(logger_name)

    def on_create(self, context: AttemptContext) -> None:
        self._logger.info(
            f"Attempt created: attempt_id={context.attempt_id}, task_id={context.task_id}, "
            f"run_id={context.run_id}, operator_key={context.operator_key}, attempt_index={context.attempt_index}"
        )

    def on_submit(self, context: AttemptContext, external_id: str | None) -> None:
        self._logger.info(
            f"Attempt submitted: attempt_id={context.attempt_id}, task_id={context.task_id}, external_id={external_id}"
        )

    def on_complete(self, context: AttemptContext, success: bool) -> None:
        self._logger.info(
            f"Attempt completed: attempt_id={context.attempt_id}, task_id={context.task_id}, success={success}"
        )

    def on_fail(self, context: AttemptContext, error: str) -> None:
        self._logger.error(
            f"Attempt failed: attempt_id={context.attempt_id}, task_id={context.task_id}, error={error}"
        )


def fire_hook_safely(hook: AttemptLifecycleHook | None, method_name: str, *args: Any, **kwargs: Any) -> None:
    """Call ``hook.<method_name>(*args, **kwargs)``; a missing hook does nothing, and an
    exception (or a missing method) is logged as a one-line warning instead of raised."""
    if hook is None:
        return
    method = getattr(hook, method_name, None)
    if method is None:
        logger.warning(f"Lifecycle hook {type(hook).__name__} has no method {method_name}")
        return
    try:
        method(*args, **kwargs)
    except Exception as exc:  # a hook is the user's code: it must never stop the run
        # One line by default; the traceback when the logger is set to DEBUG.
        logger.warning(f"Lifecycle hook {type(hook).__name__}.{method_name} failed: {type(exc).__name__}: {exc}",
                       exc_info=logger.isEnabledFor(logging.DEBUG))


__all__ = ["AttemptContext", "AttemptLifecycleHook", "CompositeLifecycleHook", "LoggingHook", "fire_hook_safely"]
