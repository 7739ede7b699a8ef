"""The run's own copy of its wiring, ``<run>/operators_snapshot/`` (the layout MatterStack 0.2.7
wrote): ``operators.yaml`` (a byte copy of the file the run was pinned to), ``metadata.json``
(its source, path and sha256, and the settings environment variables supplied) and
``history.jsonl`` (one line per event, appended).

A setting an environment variable supplied when the run was pinned keeps that value: it is
recorded in ``metadata.json`` (``environment``: key path, variable, value) and every later
tick reads it from there, not from the environment. A secret's value is never written: only
its variable is recorded, and the secret is read from the environment at every tick.

Once a run has a snapshot every tick uses it, so editing or deleting the site file changes
nothing for the run. Giving a command a *different* file (another sha256) is refused unless
``force_override`` (the refusal is recorded in the history, as ``WIRING_OVERRIDE_REFUSED``);
the override replaces the snapshot and is recorded too. The legacy flags are snapshotted the
same way, as the document they stand for. Which file a run is pinned to, when it has no
snapshot yet, is decided by :mod:`matterstack.wiring.precedence`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import attrs

from matterstack.atomic_write import write_atomic
from matterstack.core.times import utc_now
from matterstack.errors import ConfigError
from matterstack.wiring.model import Wiring
from matterstack.wiring.yamlfile import read_file_bytes

SNAPSHOT_DIR = "operators_snapshot"
SNAPSHOT_RELPATH = f"{SNAPSHOT_DIR}/operators.yaml"
METADATA_RELPATH = f"{SNAPSHOT_DIR}/metadata.json"
HISTORY_RELPATH = f"{SNAPSHOT_DIR}/history.jsonl"
OPERATORS_CONFIG_SOURCE = "CLI_OVERRIDE"
"""The source recorded for ``--operators-config`` (the name MatterStack 0.2.7 gave it)."""
ENV_VAR_NAME = "MATTERSTACK_OPERATORS_CONFIG"
"""The environment variable naming an operators.yaml (recorded in metadata.json, as 0.2.7 did)."""
PERSISTED = "WIRING_PERSISTED"
OVERRIDE_FORCED = "WIRING_OVERRIDE_FORCED"
OVERRIDE_REFUSED = "WIRING_OVERRIDE_REFUSED"


@attrs.frozen
class WiringRequest:
    """Wiring asked for on the command line, validated: the bytes to snapshot, where they
    came from (``source``: ``CLI_OVERRIDE``, ``LEGACY_HPC_CONFIG`` or ``LEGACY_PROFILE``),
    the flags as given, and the wiring they make."""

    source: str
    resolved_path: str
    data: bytes
    wiring: Wiring
    provenance: dict = attrs.field(factory=lambda: _provenance())

    @property
    def sha256(self) -> str:
        """The sha256 of :attr:`data`."""
        return _sha256(self.data)


def wiring_request(*, operators_config=None, hpc_config=None, profile=None, config=None,
                   host=None) -> WiringRequest | None:
    """Read and validate the wiring the flags ask for, or None when they ask for nothing.

    ``operators_config`` wins over the legacy flags; ``hpc_config`` over ``profile``.
    """
    if operators_config is None and hpc_config is None and profile is None and config is None:
        return None
    from matterstack.wiring.document import load_operators_bytes
    from matterstack.wiring.legacy import legacy_document

    host = host or _process_host()
    provenance = _provenance(operators_config, hpc_config, profile, config)
    if operators_config is not None:
        return file_request(operators_config, OPERATORS_CONFIG_SOURCE, host=host, provenance=provenance)
    legacy = legacy_document(host=host, hpc_config=hpc_config, profile=profile, config=config)
    if legacy is None:
        return None
    wiring = load_operators_bytes(legacy.data, filename=legacy.label, host=host, source_file=legacy.resolved_path)
    return WiringRequest(legacy.source, legacy.resolved_path, legacy.data, wiring, provenance)


def file_request(path, source: str, *, host, provenance: dict | None = None, what: str = "operators file",
                 fix: str = "give the path of an existing operators.yaml") -> WiringRequest:
    """Read and validate the operators.yaml at ``path`` as wiring from ``source``."""
    from matterstack.wiring.document import load_operators_bytes

    path = Path(path).expanduser()
    data = read_file_bytes(path, what=what, fix=fix)
    wiring = load_operators_bytes(data, filename=str(path), host=host, source_file=str(path.resolve()))
    return WiringRequest(source, str(path.resolve()), data, wiring, provenance or _provenance())


def _provenance(operators_config=None, hpc_config=None, profile=None, config=None) -> dict:
    """The flags as given, for ``metadata.json``'s ``provenance``."""
    return {
        "cli": {"operators_config": _absolute(operators_config)},
        "legacy": {"hpc_config": _absolute(hpc_config), "profile": profile, "profiles_config_path": _absolute(config)},
    }


def persist_request(handle, request: WiringRequest, *, force_override: bool = False) -> None:
    """Make ``request`` the run's snapshot.

    No snapshot yet: write it. The same bytes: nothing to do. Other bytes: refused with a
    :class:`ConfigError` (and a ``WIRING_OVERRIDE_REFUSED`` line in the history) unless
    ``force_override``, which replaces the snapshot and appends a ``WIRING_OVERRIDE_FORCED``
    line. Writes happen under the run lock, so a run
    another process is stepping is left as it is (:class:`RunLockedError`).
    """
    from matterstack.store.lock import RunLock

    if not _needs_writing(handle, request, force_override):
        return
    with RunLock(handle.root_path):
        prior = _snapshot_sha256(handle)
        if _needs_writing(handle, request, force_override):  # another process may have written it meanwhile
            _write_snapshot(handle, request, prior, force_override=force_override)


def _snapshot_sha256(handle) -> str | None:
    snapshot = Path(handle.root_path) / SNAPSHOT_RELPATH
    return _sha256(snapshot.read_bytes()) if snapshot.is_file() else None


def _sha256(data: bytes) -> str:
    import hashlib  # only a run being pinned hashes (hashlib's OpenSSL costs every start 5 ms)

    return hashlib.sha256(data).hexdigest()


def _needs_writing(handle, request: WiringRequest, force_override: bool) -> bool:
    """Whether ``request`` differs from the snapshot; ConfigError if it may not replace it."""
    prior = _snapshot_sha256(handle)
    if prior == request.sha256:
        return False
    if prior is not None and not force_override:
        effective = (read_metadata(handle.root_path) or {}).get("effective") or {}
        _append_history(Path(handle.root_path), request, OVERRIDE_REFUSED, {
            "attempted_sha256": request.sha256, "note": "Override refused; rerun with --force-wiring-override",
        }, sha256=prior)
        raise ConfigError(
            f"the run's wiring (sha256 {prior[:12]}, from {effective.get('resolved_path') or SNAPSHOT_RELPATH}) "
            f"differs from {request.resolved_path} (sha256 {request.sha256[:12]})",
            where=f"run {handle.run_id}",
            fix="leave the wiring flags out to keep the run's wiring, or add --force-wiring-override to replace it",
        )
    return True


def _write_snapshot(handle, request: WiringRequest, prior: str | None, *, force_override: bool) -> None:
    run_dir = Path(handle.root_path)
    write_atomic(run_dir / SNAPSHOT_RELPATH, request.data)
    _write_metadata(handle, request, force_override=force_override)
    if prior is None:
        _append_history(run_dir, request, PERSISTED, {"note": "Initial persistence"})
    else:
        _append_history(run_dir, request, OVERRIDE_FORCED, {"prior_sha256": prior})


def load_run_wiring(handle, *, operators_config=None, hpc_config=None, profile=None, config=None,
                    force_override: bool = False, host=None, environ=None) -> Wiring:
    """The wiring a run uses, pinning it into the snapshot on first use: ``--operators-config``,
    else the run's snapshot, else the workspace's ``operators.yaml``, else
    ``$MATTERSTACK_OPERATORS_CONFIG``, else the legacy flags, else the embedded default
    (see :func:`matterstack.wiring.precedence.resolve_run_wiring`)."""
    from matterstack.wiring.precedence import resolve_run_wiring

    return resolve_run_wiring(handle, operators_config=operators_config, hpc_config=hpc_config, profile=profile,
                              config=config, force_override=force_override, host=host, environ=environ).wiring


def snapshot_wiring(handle, *, host) -> Wiring | None:
    """The wiring in the run's snapshot, or None when the run has none."""
    run_dir = Path(handle.root_path)
    snapshot = run_dir / SNAPSHOT_RELPATH
    if not snapshot.is_file():
        return None
    from matterstack.wiring.document import load_operators_bytes

    metadata = read_metadata(run_dir)
    effective = (metadata or {}).get("effective") or {}
    recorded = (metadata or {}).get(ENVIRONMENT_KEY)
    pinned = None if not isinstance(recorded, list) else {
        entry["variable"]: entry["value"] for entry in recorded
        if isinstance(entry, dict) and isinstance(entry.get("value"), str) and isinstance(entry.get("variable"), str)}
    return load_operators_bytes(snapshot.read_bytes(), filename=str(snapshot), host=host,
                                source_file=effective.get("resolved_path"), lenient=written_by_original(metadata),
                                environ=pinned, secret_environ=None if pinned is None else os.environ)


def snapshot_reads_as(request: WiringRequest, metadata: dict | None) -> bool:
    """Whether reading the run's snapshot, whose ``metadata.json`` is ``metadata``, gives the
    wiring ``request`` holds: the snapshot is ``request``'s bytes, written by this MatterStack
    (read strictly, as ``request`` was) with the same environment values recorded as
    ``request`` read. A caller holding such a request need not validate the snapshot again."""
    if metadata is None or written_by_original(metadata):
        return False
    effective = metadata.get("effective")
    return (isinstance(effective, dict) and effective.get("sha256") == request.sha256
            and metadata.get(ENVIRONMENT_KEY) == [recorded_variable(value) for value in request.wiring.environment])


def written_by_original(metadata: dict | None) -> bool:
    """Whether a snapshot's ``metadata.json`` was written by MatterStack 0.2.x: the same
    layout as ours but without our ``written_by`` mark. Such a snapshot is read leniently,
    as 0.2.x read it: keys it ignored are warnings, not refusals."""
    return metadata is not None and WRITTEN_BY_KEY not in metadata


ENVIRONMENT_KEY = "environment"
"""metadata.json's list of the settings environment variables supplied when the run was
pinned; a snapshot without it (0.2.x's, or older) reads the environment at every tick."""

WRITTEN_BY_KEY = "written_by"
WRITTEN_BY = "matterstack"
"""The mark that tells this project's snapshot metadata from 0.2.x's, which has the same layout."""


def read_metadata(run_dir: Path) -> dict | None:
    """``metadata.json`` of the run's snapshot, or None when absent or unreadable."""
    try:
        data = json.loads((Path(run_dir) / METADATA_RELPATH).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_history(run_dir: Path) -> list[dict]:
    """The events of ``history.jsonl``, oldest first (a damaged line is skipped)."""
    try:
        lines = (Path(run_dir) / HISTORY_RELPATH).read_text().splitlines()
    except OSError:
        return []
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _process_host():
    from matterstack.plugins.host import get_plugin_host

    return get_plugin_host()


def _absolute(path) -> str | None:
    return None if path is None else str(Path(path).expanduser().resolve())


def _now() -> str:
    return utc_now().strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_metadata(handle, request: WiringRequest, *, force_override: bool) -> None:
    run_dir = Path(handle.root_path)
    now = _now()
    cli = {**request.provenance["cli"], "force_wiring_override": bool(force_override)}
    payload = {
        "schema_version": 1,
        WRITTEN_BY_KEY: WRITTEN_BY,
        "created_at_utc": (read_metadata(run_dir) or {}).get("created_at_utc") or now,
        "updated_at_utc": now,
        "effective": {
            "source": request.source,
            "resolved_path": request.resolved_path,
            "sha256": request.sha256,
            "snapshot_relpath": SNAPSHOT_RELPATH,
        },
        "provenance": {"workspace_slug": handle.workspace_slug, "env_var_name": ENV_VAR_NAME, "cli": cli,
                       "legacy": request.provenance["legacy"]},
        "history_relpath": HISTORY_RELPATH,
        ENVIRONMENT_KEY: [recorded_variable(value) for value in request.wiring.environment],
    }
    write_atomic(run_dir / METADATA_RELPATH, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def recorded_variable(value) -> dict:
    """How metadata.json records an :class:`~matterstack.plugins.settings.EnvironmentValue`:
    the key path (without the file name), the variable, and its value unless it is a secret."""
    entry = {"key": value.where.rsplit(": ", 1)[-1], "variable": value.variable}
    if value.value is None:
        entry["secret"] = True
    else:
        entry["value"] = value.value
    return entry


def _append_history(run_dir: Path, request: WiringRequest, event: str, details: dict, *,
                    sha256: str | None = None) -> None:
    """One line of ``history.jsonl``; ``sha256`` is the request's unless given (a refusal
    records the snapshot's, which stays in force, as 0.2.7 did)."""
    line = {
        "at_utc": _now(),
        "event": event,
        "source": request.source,
        "sha256": sha256 or request.sha256,
        "resolved_path": request.resolved_path,
        "snapshot_relpath": SNAPSHOT_RELPATH,
        "details": details,
    }
    with (run_dir / HISTORY_RELPATH).open("a") as fh:
        fh.write(json.dumps(line, sort_keys=True) + "\n")
