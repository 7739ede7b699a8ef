"""MatterStack 0.2.x's ``matterstack.orchestration.step_execution``, which 0.2.6's
``run_lifecycle`` pointed to: ``step_run``, as in :mod:`.run_lifecycle`."""

from matterstack.orchestration.run_lifecycle import step_run

__all__ = ["step_run"]
