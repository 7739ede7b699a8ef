"""The state store: one SQLite file per run (``runs/<run_id>/state.sqlite``) and its lock.

``StateStore`` reads every schema MatterStack has written (v1–v3 from 0.2.x, migrated on
open) and writes v4; ``RunLock`` keeps a run to one writer at a time.
"""

from matterstack.store.history import OperatorContact, RunEvent, RunNote, TaskEvent
from matterstack.store.lock import RunLock
from matterstack.store.state_store import StateStore

__all__ = ["OperatorContact", "RunEvent", "RunLock", "RunNote", "StateStore", "TaskEvent"]
