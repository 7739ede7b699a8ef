"""Kind ``hpc``: compute attempts through the backend named in the instance's ``backend``
block (``local`` by default; ``slurm``, ``profile``, ``hpc_yaml`` or a third-party type)."""

from __future__ import annotations

from matterstack.operators.compute import ComputeOperator
from matterstack.plugins.backend_block import BackendBlock, read_backend_block


class HpcOperator(ComputeOperator):
    """A compute operator over a backend built through the plugin registry, from the backend
    block operators.yaml's reading validated (a block given by hand is validated here)."""

    def __init__(self, key, settings, context):
        super().__init__(key, settings, context)
        block = getattr(settings, "backend", None)
        if not isinstance(block, BackendBlock):
            block = read_backend_block(block, host=context.host, kind="hpc", where=f"operators.{key}.backend")
        self.backend = context.host.compute_backend(block.type).factory(block.settings, context)
        self.dry_run = bool(getattr(block.settings, "dry_run", False))
