"""Config-driven wiring: which operator instances a run has and how each is configured.

- :func:`load_operators_file` reads and validates an ``operators.yaml`` into a
  :class:`~matterstack.orchestrator.registry.Wiring` (``load_wiring`` is the same function);
- :func:`load_run_wiring` gives the wiring a run uses: the command line's, snapshotted into
  ``<run>/operators_snapshot/``; else the run's snapshot; else the embedded default;
- :func:`resolve_profile` reads the named backend recipes of ``matterstack.yaml`` and
  ``~/.matterstack/config.yaml``;
- :func:`wiring_summary` is what ``explain`` and the evidence bundle say about a run's wiring.

See docs/operators-yaml.md for the file's reference.
"""

from __future__ import annotations

from matterstack.wiring.document import load_operators_bytes, load_operators_file
from matterstack.wiring.profiles import load_profiles, resolve_profile
from matterstack.wiring.snapshot import load_run_wiring, persist_request, wiring_request
from matterstack.wiring.summary import instance_row, wiring_summary

load_wiring = load_operators_file

__all__ = [
    "instance_row",
    "load_operators_bytes",
    "load_operators_file",
    "load_profiles",
    "load_run_wiring",
    "load_wiring",
    "persist_request",
    "resolve_profile",
    "wiring_request",
    "wiring_summary",
]
