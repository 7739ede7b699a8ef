"""MatterStack 0.2.x's ``matterstack.core.operators``. ``ExternalRunStatus`` is kept (the
attempt statuses, same strings: :class:`matterstack.core.status.AttemptStatus`); 0.2.x's
``Operator`` base class and its handle and result models are gone: an operator is a plugin
implementing :class:`matterstack.plugins.Operator` (docs/writing-a-plugin.md)."""

from __future__ import annotations

from matterstack.core.status import AttemptStatus as ExternalRunStatus
from matterstack.legacy_imports import gone_names

__all__ = ["ExternalRunStatus"]

_AS_A_PLUGIN = "registered by a plugin and wired in operators.yaml (docs/writing-a-plugin.md)"

__getattr__ = gone_names(__name__, {
    "Operator": f"implement matterstack.plugins.Operator (prepare, submit, poll, collect, cancel), {_AS_A_PLUGIN}",
    "ExternalRunHandle": f"a matterstack.plugins.Operator is handed each attempt as an AttemptContext, {_AS_A_PLUGIN}",
    "OperatorResult": f"a matterstack.plugins.Operator's collect() returns a CollectResult, {_AS_A_PLUGIN}",
})
