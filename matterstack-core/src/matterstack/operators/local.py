"""Kind ``local``: compute attempts as processes on this machine, in the attempt directory."""

from __future__ import annotations

from matterstack.backends.local import LocalBackend
from matterstack.operators.compute import ComputeOperator
from matterstack.plugins.builtin import LocalBackendSettings


class LocalOperator(ComputeOperator):
    """A compute operator whose backend is always ``local`` at the run directory."""

    def __init__(self, key, settings, context):
        super().__init__(key, settings, context)
        self.backend = LocalBackend(LocalBackendSettings(), context)
