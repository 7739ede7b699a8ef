"""MatterStack: run long scientific campaigns across laptops, clusters, people and instruments.

The public names are imported on first use (PEP 562), so ``import matterstack`` stays cheap
(the CLI's ``--help`` must not pay for the state store or the converter).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from matterstack.lazy_names import lazy_getattr

if TYPE_CHECKING:
    from matterstack.core.campaign import Campaign
    from matterstack.core.external import ExternalTask
    from matterstack.core.gate import GateTask
    from matterstack.core.workflow import FileFromContent, FileFromPath, Task, Workflow
    from matterstack.orchestrator.api import (
        RunHandle,
        initialize_run,
        run_until_completion,
        step_run,
    )

_LAZY = {
    "Campaign": "matterstack.core.campaign",
    "Task": "matterstack.core.workflow",
    "Workflow": "matterstack.core.workflow",
    "FileFromPath": "matterstack.core.workflow",
    "FileFromContent": "matterstack.core.workflow",
    "GateTask": "matterstack.core.gate",
    "ExternalTask": "matterstack.core.external",
    "RunHandle": "matterstack.orchestrator.api",
    "initialize_run": "matterstack.orchestrator.api",
    "run_until_completion": "matterstack.orchestrator.api",
    "step_run": "matterstack.orchestrator.api",
}

__all__ = [*_LAZY, "__version__"]


# 0.2.x exported EvidenceBundle too; importing its 0.2.x module says what replaces it.
_GONE_IN_0_3 = {"EvidenceBundle": "matterstack.core.evidence"}

_imported_on_first_use = lazy_getattr(__name__, globals(), {**_LAZY, **_GONE_IN_0_3})


def __getattr__(name: str) -> Any:
    if name != "__version__":
        return _imported_on_first_use(name)
    from importlib.metadata import version

    value = globals()["__version__"] = version("matterstack-core")
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
