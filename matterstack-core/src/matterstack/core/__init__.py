"""The pure model: operator keys, statuses, transitions, tasks, workflows, campaigns.

Nothing here does I/O or imports the store, the orchestrator or a plugin.

MatterStack 0.2.x exported its model here (``from matterstack.core import Campaign, Task``);
those names are imported on first use, so importing a submodule loads nothing else. Its
``RunHandle`` comes through the 0.2.x path :mod:`matterstack.core.run`; names with no
counterpart (``Candidate``, ``RunMetadata``, ``EvidenceBundle``, ...) raise an ImportError
naming what replaces them.
"""

from __future__ import annotations

from matterstack.lazy_names import lazy_getattr

_HOMES = {
    "Campaign": "matterstack.core.campaign",
    "Task": "matterstack.core.workflow",
    "Workflow": "matterstack.core.workflow",
    "GateTask": "matterstack.core.gate",
    "ExternalTask": "matterstack.core.external",
    "RunHandle": "matterstack.core.run",
}
__all__ = sorted(_HOMES)

_GONE_IN_0_3 = {
    "Candidate": "matterstack.core.domain",
    "DesignSpace": "matterstack.core.domain",
    "RunMetadata": "matterstack.core.run",
    "EvidenceBundle": "matterstack.core.evidence",
}

__getattr__ = lazy_getattr(__name__, globals(), {**_HOMES, **_GONE_IN_0_3})
