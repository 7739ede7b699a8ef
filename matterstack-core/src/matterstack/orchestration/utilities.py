"""MatterStack 0.2.x's ``matterstack.orchestration.utilities``, which 0.2.6's
``run_lifecycle`` pointed to: the same names as in :mod:`.run_lifecycle`."""

from matterstack.orchestration.run_lifecycle import list_active_runs, run_until_completion

__all__ = ["run_until_completion", "list_active_runs"]
