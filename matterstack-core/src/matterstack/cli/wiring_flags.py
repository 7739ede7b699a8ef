"""The wiring flags of ``init``, ``step``, ``loop`` and ``run``: which operators.yaml (or
legacy cluster file or profile) a run uses. See docs/operators-yaml.md."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import attrs
import typer

OperatorsConfig = typer.Option(
    None, "--operators-config",
    help="operators.yaml wiring the operator instances; snapshotted into the run at its first use.",
)
HpcConfig = typer.Option(
    None, "--hpc-config", help="Legacy cluster YAML: hpc.default becomes a Slurm backend on it (wins over --profile).",
)
Profile = typer.Option(
    None, "--profile",
    help="Legacy: hpc.default uses this profile of matterstack.yaml or ~/.matterstack/config.yaml.",
)
ProfilesConfig = typer.Option(None, "--config", help="Read --profile from this file alone.")
ForceOverride = typer.Option(
    False, "--force-wiring-override",
    help="Replace the run's wiring snapshot with the given file (recorded in its history).",
)


@attrs.frozen
class WiringFlags:
    """The wiring flags as given on one command line."""

    operators_config: Optional[Path] = None
    hpc_config: Optional[Path] = None
    profile: Optional[str] = None
    config: Optional[Path] = None
    force_override: bool = False

    def request(self):
        """What the flags ask for, validated without touching any run (so ``init`` can refuse
        a bad file before it makes the run), or None."""
        from matterstack.wiring.snapshot import wiring_request

        return wiring_request(operators_config=self.operators_config, hpc_config=self.hpc_config,
                              profile=self.profile, config=self.config)

    def wiring(self, handle):
        """The wiring the run ``handle`` uses under these flags (snapshotting what they ask for)."""
        from matterstack.wiring.snapshot import load_run_wiring

        return load_run_wiring(handle, operators_config=self.operators_config, hpc_config=self.hpc_config,
                               profile=self.profile, config=self.config, force_override=self.force_override)

    def registry(self, handle):
        """The run's operator registry under these flags."""
        from matterstack.orchestrator.api import build_registry

        return build_registry(handle, self.wiring(handle))
