"""Which wiring a run uses, in MatterStack 0.2.7's order (highest first):

1. ``--operators-config FILE`` (``CLI_OVERRIDE``; refused if the run's snapshot differs,
   unless ``--force-wiring-override``);
2. the run's snapshot, ``<run>/operators_snapshot/`` (``RUN_PERSISTED``);
3. the workspace's own ``operators.yaml``, beside its ``main.py`` (``WORKSPACE_DEFAULT``);
4. the file named by ``$MATTERSTACK_OPERATORS_CONFIG`` (``ENV_VAR``);
5. the legacy flags ``--hpc-config`` / ``--profile`` (``LEGACY_HPC_CONFIG``, ``LEGACY_PROFILE``);
6. the embedded default.

Sources 1 and 3-5 are pinned into the snapshot at their first use (``init``, else the first
tick), so a run keeps one wiring from then on, whatever happens to the files. The workspace's
file is found from the run directory (``<workspace>/runs/<run_id>``), never from the current
folder. Legacy flags that a higher source outranks are not used, and the command says so;
with ``--force-wiring-override`` they replace the snapshot as ``--operators-config`` would.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from matterstack.wiring.model import Wiring, embedded_default_wiring
from matterstack.wiring.snapshot import (
    ENV_VAR_NAME,
    OPERATORS_CONFIG_SOURCE,
    SNAPSHOT_RELPATH,
    WiringRequest,
    file_request,
    persist_request,
    read_metadata,
    snapshot_reads_as,
    snapshot_wiring,
    wiring_request,
)

RUN_PERSISTED = "RUN_PERSISTED"
WORKSPACE_DEFAULT = "WORKSPACE_DEFAULT"
ENV_VAR = "ENV_VAR"
EMBEDDED_DEFAULT = "embedded default"
WORKSPACE_FILE = "operators.yaml"
"""The name of a workspace's own wiring file, beside its ``main.py``."""


@attrs.frozen
class RunWiring:
    """The wiring a run uses and how it was chosen.

    ``source`` is the step of the precedence that decided (``RUN_PERSISTED`` once the run has
    a snapshot); ``resolved_path`` the file it came from; ``pinned`` whether the run's
    snapshot holds it; ``notes`` what people should hear (flags that were not used).
    """

    wiring: Wiring
    source: str
    resolved_path: str | None
    pinned: bool
    notes: tuple[str, ...] = ()


def workspace_file(workspace_path: str | Path) -> Path:
    """The workspace's own operators.yaml (it may not exist)."""
    return Path(workspace_path) / WORKSPACE_FILE


def ambient_source(workspace_path: str | Path | None,
                   environ: Mapping[str, str] | None = None) -> tuple[str, Path] | None:
    """``(source, path)`` of the file a run of the workspace is pinned to when no flag says
    otherwise: the workspace's operators.yaml, else ``$MATTERSTACK_OPERATORS_CONFIG``; None
    when there is neither. Nothing is read or validated. ``workspace_path`` None: the
    environment variable alone."""
    if workspace_path is not None and workspace_file(workspace_path).is_file():
        return WORKSPACE_DEFAULT, workspace_file(workspace_path)
    named = (os.environ if environ is None else environ).get(ENV_VAR_NAME)
    if named:
        return ENV_VAR, Path(named).expanduser()
    return None


def ambient_request(workspace_path: str | Path | None, *, host, environ: Mapping[str, str] | None = None,
                    provenance: dict | None = None) -> WiringRequest | None:
    """The workspace's file or the environment variable's, read and validated; None when
    there is neither."""
    found = ambient_source(workspace_path, environ)
    if found is None:
        return None
    source, path = found
    if source == ENV_VAR:
        return file_request(path, source, host=host, provenance=provenance,
                            what=f"operators file named by ${ENV_VAR_NAME}",
                            fix=f"set {ENV_VAR_NAME} to the path of an existing operators.yaml, or unset it")
    return file_request(path, source, host=host, provenance=provenance)


def choose_request(workspace_path: str | Path, *, has_snapshot: bool, operators_config=None, hpc_config=None,
                   profile=None, config=None, force_override: bool = False, host,
                   environ: Mapping[str, str] | None = None) -> tuple[WiringRequest | None, tuple[str, ...]]:
    """What to pin for a run of the workspace (None: keep the snapshot, or use the embedded
    default), and notes on flags that were outranked. Every flag given is validated."""
    flagged = wiring_request(operators_config=operators_config, hpc_config=hpc_config, profile=profile,
                             config=config, host=host)
    if flagged is not None and (flagged.source == OPERATORS_CONFIG_SOURCE or force_override):
        return flagged, ()
    if has_snapshot:
        return None, _outranked(flagged, f"the run keeps its wiring snapshot ({SNAPSHOT_RELPATH})")
    ambient = ambient_request(workspace_path, host=host, environ=environ, provenance=flagged and flagged.provenance)
    if ambient is not None:
        return ambient, _outranked(flagged, f"{ambient.source} {ambient.resolved_path} ranks above the legacy flags")
    return flagged, ()


def _outranked(flagged: WiringRequest | None, why: str) -> tuple[str, ...]:
    from matterstack.wiring.legacy import LEGACY_HPC_CONFIG

    if flagged is None:
        return ()
    flag = "--hpc-config" if flagged.source == LEGACY_HPC_CONFIG else "--profile"
    return (f"{flag} is not used: {why} (add --force-wiring-override to use {flag} instead)",)


def resolve_run_wiring(handle, *, operators_config=None, hpc_config=None, profile=None, config=None,
                       force_override: bool = False, host=None, environ: Mapping[str, str] | None = None,
                       pin: bool = True) -> RunWiring:
    """The wiring the run ``handle`` uses under these flags.

    With ``pin`` (a tick, ``init``) what the precedence chooses is written to the run's
    snapshot first (:func:`~matterstack.wiring.snapshot.persist_request`); without it (``explain``,
    ``export-evidence``, ``status``) nothing is written and a file not pinned yet is read as is.
    """
    if host is None:
        from matterstack.plugins.host import get_plugin_host

        host = get_plugin_host()
    run_dir = Path(handle.root_path)
    has_snapshot = (run_dir / SNAPSHOT_RELPATH).is_file()
    request, notes = choose_request(handle.workspace_path, has_snapshot=has_snapshot,
                                    operators_config=operators_config, hpc_config=hpc_config, profile=profile,
                                    config=config, force_override=force_override, host=host, environ=environ)
    if request is not None:
        if not pin:
            return RunWiring(request.wiring, request.source, request.resolved_path, False, notes)
        persist_request(handle, request, force_override=force_override)
        metadata = read_metadata(run_dir)
        if snapshot_reads_as(request, metadata):  # the file was just validated: not again
            resolved_path = metadata["effective"].get("resolved_path")
            wiring = attrs.evolve(request.wiring, source=str(run_dir / SNAPSHOT_RELPATH), source_file=resolved_path)
            return RunWiring(wiring, request.source, resolved_path, True, notes)
    pinned = snapshot_wiring(handle, host=host)
    if pinned is None:
        return RunWiring(embedded_default_wiring(host), EMBEDDED_DEFAULT, None, False, notes)
    effective = (read_metadata(run_dir) or {}).get("effective") or {}
    source = request.source if request is not None else RUN_PERSISTED
    return RunWiring(pinned, source, effective.get("resolved_path"), True, notes)


def recorded_source(handle, environ: Mapping[str, str] | None = None) -> dict:
    """Where a run's wiring comes from, cheaply (no plugin is loaded, no file validated):
    ``source`` (as recorded in ``metadata.json`` once pinned), ``source_file``, ``sha256``,
    ``snapshot`` (its path in the run, or None) and ``pinned``."""
    run_dir = Path(handle.root_path)
    if (run_dir / SNAPSHOT_RELPATH).is_file():
        effective = (read_metadata(run_dir) or {}).get("effective") or {}
        return {"source": effective.get("source") or RUN_PERSISTED, "source_file": effective.get("resolved_path"),
                "sha256": effective.get("sha256"), "snapshot": SNAPSHOT_RELPATH, "pinned": True}
    found = ambient_source(handle.workspace_path, environ)
    if found is None:
        return {"source": EMBEDDED_DEFAULT, "source_file": None, "sha256": None, "snapshot": None, "pinned": False}
    source, path = found
    return {"source": source, "source_file": str(path.resolve()), "sha256": None, "snapshot": None, "pinned": False}
