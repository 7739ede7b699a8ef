"""MatterStack 0.2.x's import path of the run API, kept for workspaces and scripts written
for it: ``from matterstack.orchestration import initialize_run, step_run``.

The functions are this MatterStack's (:mod:`matterstack.orchestrator.api`), imported on first
use; :mod:`matterstack.orchestration.run_lifecycle` has the rest of 0.2.x's names. New code
imports them from ``matterstack``.
"""

from __future__ import annotations

from matterstack.lazy_names import lazy_getattr

_HOMES = {
    "initialize_run": "matterstack.orchestrator.api",
    "step_run": "matterstack.orchestrator.api",
}
__all__ = sorted(_HOMES)

__getattr__ = lazy_getattr(__name__, globals(), _HOMES)
