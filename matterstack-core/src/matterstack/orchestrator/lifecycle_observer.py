"""0.2.x lifecycle hooks (``matterstack.core.lifecycle``) carried by the attempt-transition
observer hook.

While ``step_run`` or ``run_until_completion`` runs with ``lifecycle_hooks``, a
:class:`LifecycleHookObserver` is registered on the plugin host like any observer plugin; it
turns each recorded transition of that run into the 0.2.x method call:

- creation → ``on_create``;
- CREATED → SUBMITTED, WAITING_EXTERNAL or RUNNING → ``on_submit`` (with the external id);
- → COMPLETED → ``on_complete(context, True)``;
- → FAILED or FAILED_INIT → ``on_fail(context, reason)``;
- → CANCELLED → nothing, as in 0.2.x.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

from matterstack.core.lifecycle import AttemptContext, AttemptLifecycleHook, fire_hook_safely
from matterstack.core.records import Attempt, AttemptEvent
from matterstack.core.status import AttemptStatus
from matterstack.errors import ConfigError
from matterstack.orchestrator.handle import RunHandle
from matterstack.plugins.hookspecs import hookimpl

_SUBMITTED = frozenset({AttemptStatus.SUBMITTED, AttemptStatus.WAITING_EXTERNAL, AttemptStatus.RUNNING})
_FAILED = frozenset({AttemptStatus.FAILED, AttemptStatus.FAILED_INIT})
_HOOK_METHODS = ("on_create", "on_submit", "on_complete", "on_fail")
_numbers = itertools.count(1)


class LifecycleHookObserver:
    """An observer plugin calling ``hooks`` for the transitions of run ``handle``.

    The attempt's operator key and index (which an event does not carry) are read from the
    run's database through one read-only connection, opened at the first event.
    """

    def __init__(self, hooks: AttemptLifecycleHook, handle: RunHandle):
        self.hooks = hooks
        self.handle = handle
        self._store = None

    @hookimpl
    def matterstack_attempt_transition(self, event: AttemptEvent) -> None:
        if event.run_id != self.handle.run_id:
            return
        if event.from_status is None:
            fire_hook_safely(self.hooks, "on_create", self._context(event))
        elif event.from_status is AttemptStatus.CREATED and event.to_status in _SUBMITTED:
            attempt = self._attempt(event)
            external_id = event.data.get("external_id") or attempt.external_id
            fire_hook_safely(self.hooks, "on_submit", self._context(event, attempt), external_id)
        elif event.to_status is AttemptStatus.COMPLETED:
            fire_hook_safely(self.hooks, "on_complete", self._context(event), True)
        elif event.to_status in _FAILED:
            fire_hook_safely(self.hooks, "on_fail", self._context(event), event.reason)

    def _attempt(self, event: AttemptEvent) -> Attempt:
        if self._store is None:
            from matterstack.store import StateStore

            self._store = StateStore.open(self.handle.db_path, readonly=True)
        return self._store.get_attempt(event.attempt_id)

    def _context(self, event: AttemptEvent, attempt: Attempt | None = None) -> AttemptContext:
        attempt = attempt or self._attempt(event)
        return AttemptContext(run_id=event.run_id, task_id=event.task_id, attempt_id=event.attempt_id,
                              operator_key=attempt.operator_key, attempt_index=attempt.attempt_index)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def check_lifecycle_hooks(hooks) -> None:
    """ConfigError unless ``hooks`` is None or has the four 0.2.x methods."""
    if hooks is None:
        return
    missing = [name for name in _HOOK_METHODS if not callable(getattr(hooks, name, None))]
    if missing:
        raise ConfigError(
            f"lifecycle_hooks is a {type(hooks).__name__} without {', '.join(missing)}",
            where="lifecycle_hooks argument",
            fix="pass an AttemptLifecycleHook (matterstack.core.lifecycle), or several in a CompositeLifecycleHook",
        )


@contextlib.contextmanager
def observing(host, handle: RunHandle, hooks: AttemptLifecycleHook | None) -> Iterator[None]:
    """Within the block, ``hooks`` observe the transitions of run ``handle`` (nothing if None)."""
    check_lifecycle_hooks(hooks)
    if hooks is None:
        yield
        return
    observer = LifecycleHookObserver(hooks, handle)
    host.pm.register(observer, name=f"lifecycle_hooks:{handle.run_id}:{next(_numbers)}")
    try:
        yield
    finally:
        host.pm.unregister(observer)
        observer.close()
