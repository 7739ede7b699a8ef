"""Kind ``local``: compute attempts as processes on this machine, in the attempt directory."""

from __future__ import annotations

from matterstack.backends.local import LocalBackend
from matterstack.operators.compute import ComputeOperator
from matterstack.plugins.backend_block import BackendBlock
from matterstack.plugins.builtin import LocalBackendSettings
from matterstack.plugins.settings import structure_settings


class LocalOperator(ComputeOperator):
    """A compute operator whose backend is always ``local`` at the run directory.

    Its attempts are prepared and submitted up to :attr:`parallel_submissions` at a time (see
    :func:`matterstack.orchestrator.schedule.submit_created`): each is a few file creations
    and a process spawn, which wait on the disk and the kernel and overlap well.
    """

    parallel_submissions = 8

    def __init__(self, key, settings, context):
        super().__init__(key, settings, context)
        self.backend = LocalBackend(LocalBackendSettings(), context)
        block = getattr(settings, "backend", None)  # 0.2.x wrote {type: local, dry_run: ...} here
        if isinstance(block, BackendBlock):
            self.dry_run = block.settings.dry_run
        elif block:  # given by hand, not read from operators.yaml
            options = {name: value for name, value in block.items() if name != "type"}
            self.dry_run = structure_settings(LocalBackendSettings, options, where=f"operators.{key}.backend").dry_run
