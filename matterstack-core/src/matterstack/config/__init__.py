"""MatterStack 0.2.x's ``matterstack.config`` (execution profiles, operator wiring in Python);
wiring is read from files now."""

from matterstack.legacy_imports import gone

raise gone(
    __name__,
    "wire operators in operators.yaml (docs/operators-yaml.md), checked by `matterstack operators check`; "
    "0.2.x's --profile/--config and --hpc-config files still work on the command line",
)
