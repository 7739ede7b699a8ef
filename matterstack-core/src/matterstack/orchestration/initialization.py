"""MatterStack 0.2.x's ``matterstack.orchestration.initialization``, which 0.2.6's
``run_lifecycle`` pointed to: the same names as in :mod:`.run_lifecycle`."""

from matterstack.orchestration.run_lifecycle import RunLifecycleError, initialize_or_resume_run, initialize_run

__all__ = ["RunLifecycleError", "initialize_run", "initialize_or_resume_run"]
