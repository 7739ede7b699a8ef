"""Config-driven wiring: which operator instances a run has and how each is configured.

- :func:`load_operators_file` reads and validates an ``operators.yaml`` into a
  :class:`~matterstack.wiring.model.Wiring` (``load_wiring`` is the same function);
- :func:`load_run_wiring` gives the wiring a run uses, in 0.2.7's order: ``--operators-config``,
  the run's snapshot (``<run>/operators_snapshot/``), the workspace's ``operators.yaml``,
  ``$MATTERSTACK_OPERATORS_CONFIG``, the legacy flags, the embedded default; what it uses is
  pinned into the snapshot (:func:`resolve_run_wiring` also says which source decided);
- :func:`resolve_profile` reads the named backend recipes of ``matterstack.yaml`` and
  ``~/.matterstack/config.yaml``;
- :func:`wiring_summary` is what ``explain`` and the evidence bundle say about a run's wiring.

See docs/operators-yaml.md for the file's reference.
"""

from __future__ import annotations

from matterstack.wiring.document import load_operators_bytes, load_operators_file
from matterstack.wiring.precedence import resolve_run_wiring
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
    "resolve_run_wiring",
    "wiring_request",
    "wiring_summary",
]
