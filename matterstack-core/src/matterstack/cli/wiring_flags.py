"""The wiring flags of ``init``, ``step``, ``loop`` and ``run``: which operators.yaml (or
legacy cluster file or profile) a run uses. See docs/operators-yaml.md."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Optional

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


class WiringFlags(NamedTuple):
    """The wiring flags as given on one command line. (A named tuple: ``status`` and the
    other commands that read a run import no attrs.)"""

    operators_config: Optional[Path] = None
    hpc_config: Optional[Path] = None
    profile: Optional[str] = None
    config: Optional[Path] = None
    force_override: bool = False

    def request(self, workspace_path: Path):
        """What a new run of the workspace at ``workspace_path`` is pinned to (the flags, else
        the workspace's operators.yaml, else ``$MATTERSTACK_OPERATORS_CONFIG``), validated
        without touching any run, so ``init`` can refuse a bad file before it makes the run;
        or None for the embedded default."""
        from matterstack.plugins.host import get_plugin_host
        from matterstack.wiring.precedence import choose_request

        request, notes = choose_request(workspace_path, has_snapshot=False, operators_config=self.operators_config,
                                        hpc_config=self.hpc_config, profile=self.profile, config=self.config,
                                        force_override=self.force_override, host=get_plugin_host())
        _say(notes)
        return request

    def wiring(self, handle, *, pin: bool = True):
        """The wiring the run ``handle`` uses under these flags, pinned into its snapshot on
        first use unless ``pin`` is False (commands that must not write)."""
        from matterstack.wiring.precedence import resolve_run_wiring

        resolved = resolve_run_wiring(handle, operators_config=self.operators_config, hpc_config=self.hpc_config,
                                      profile=self.profile, config=self.config, force_override=self.force_override,
                                      pin=pin)
        _say(resolved.notes)
        return resolved.wiring

    def registry(self, handle, *, pin: bool = True):
        """The run's operator registry under these flags."""
        from matterstack.orchestrator.api import build_registry

        return build_registry(handle, self.wiring(handle, pin=pin))


def _say(notes) -> None:
    for note in notes:
        typer.echo(f"note: {note}", err=True)
