"""MatterStack 0.2.x's ``matterstack.storage``, kept for scripts that read a run's database
through ``SQLiteStateStore`` (see :mod:`matterstack.storage.state_store`). This
MatterStack's store is :class:`matterstack.store.StateStore`."""

from __future__ import annotations

from matterstack.lazy_names import lazy_getattr

_HOMES = {"SQLiteStateStore": "matterstack.storage.state_store"}
__all__ = sorted(_HOMES)

__getattr__ = lazy_getattr(__name__, globals(), _HOMES)
