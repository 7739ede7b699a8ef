"""MatterStack 0.2.x's ``matterstack.runtime`` (backends, operators, manifests), whose classes
a run built itself; they are plugins now."""

from matterstack.legacy_imports import gone

raise gone(
    __name__,
    "backends and operators (LocalBackend, SlurmBackend, the HPC, human and experiment operators) are "
    "plugins wired in operators.yaml (docs/operators-yaml.md); install matterstack-ops-slurm, "
    "matterstack-ops-human or matterstack-ops-experiment for the kinds your runs use",
)
