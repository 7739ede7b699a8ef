"""The state store: one SQLite file per run (``runs/<run_id>/state.sqlite``) and its lock.

``StateStore`` reads every schema MatterStack has written (v1–v3 from 0.2.x, migrated on
open) and writes v4; ``RunLock`` keeps a run to one writer at a time. The names below are
imported on first use, so ``matterstack.store.summary`` (what ``status`` reads) does not load
the record decoding the store needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matterstack.lazy_names import lazy_getattr

if TYPE_CHECKING:
    from matterstack.store.history import OperatorContact, RunEvent, RunNote, TaskEvent
    from matterstack.store.lock import RunLock
    from matterstack.store.state_store import StateStore

_HOMES = {
    "OperatorContact": "matterstack.store.history",
    "RunEvent": "matterstack.store.history",
    "RunNote": "matterstack.store.history",
    "TaskEvent": "matterstack.store.history",
    "RunLock": "matterstack.store.lock",
    "StateStore": "matterstack.store.state_store",
}
__all__ = sorted(_HOMES)


__getattr__ = lazy_getattr(__name__, globals(), _HOMES)
