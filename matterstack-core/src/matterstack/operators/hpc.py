"""Kind ``hpc``: compute attempts through the backend named in the instance's ``backend``
block (``local`` by default; ``slurm``, ``profile``, ``hpc_yaml`` or a third-party type)."""

from __future__ import annotations

from matterstack.operators.compute import ComputeOperator
from matterstack.plugins.settings import structure_settings


class HpcOperator(ComputeOperator):
    """A compute operator over a backend built through the plugin registry."""

    def __init__(self, key, settings, context):
        super().__init__(key, settings, context)
        block = dict(getattr(settings, "backend", None) or {"type": "local"})
        backend_type = block.pop("type", "local")
        registration = context.host.compute_backend(backend_type)
        backend_settings = (
            structure_settings(registration.settings, block, where=f"operators.{key}.backend")
            if registration.settings is not None else None
        )
        self.backend = registration.factory(backend_settings, context)
        self.dry_run = bool(getattr(backend_settings, "dry_run", False))
