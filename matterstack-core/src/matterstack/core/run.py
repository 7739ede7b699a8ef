"""MatterStack 0.2.x's ``matterstack.core.run``, kept for code importing ``RunHandle`` from
it; the handle is :class:`matterstack.orchestrator.handle.RunHandle` (also ``matterstack.RunHandle``)."""

from __future__ import annotations

from matterstack.legacy_imports import gone_names
from matterstack.orchestrator.handle import RunHandle

__all__ = ["RunHandle"]

__getattr__ = gone_names(__name__, {
    "RunMetadata": "a run's status, reason, tags and description are matterstack.store.StateStore"
                   ".open(handle.db_path).get_run(), or `matterstack status RUN --json`",
})
