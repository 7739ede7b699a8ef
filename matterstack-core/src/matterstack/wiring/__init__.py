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

from matterstack.lazy_names import lazy_getattr

_EXPORTS = {
    "matterstack.wiring.document": ("load_operators_bytes", "load_operators_file", "load_wiring"),
    "matterstack.wiring.precedence": ("resolve_run_wiring",),
    "matterstack.wiring.profiles": ("load_profiles", "resolve_profile"),
    "matterstack.wiring.snapshot": ("load_run_wiring", "persist_request", "wiring_request"),
    "matterstack.wiring.summary": ("instance_row", "wiring_summary"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)

# Names load on first use: a tick reading a run's pinned wiring loads neither the legacy
# flags nor the profiles, and a run on the embedded default not even the operators.yaml parser.
__getattr__ = lazy_getattr(__name__, globals(), _MODULE_OF)


def __dir__() -> list[str]:
    return __all__
