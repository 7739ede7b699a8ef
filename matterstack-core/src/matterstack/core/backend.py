"""MatterStack 0.2.x's ``ComputeBackend``/``JobState``/``JobStatus``, which tasks were run on
directly; backends are plugins now."""

from matterstack.legacy_imports import gone

raise gone(
    __name__,
    "a backend implements matterstack.plugins.ComputeBackend (JobSpec, JobObservation) in a plugin "
    "(docs/writing-a-plugin.md); runs choose theirs in operators.yaml",
)
