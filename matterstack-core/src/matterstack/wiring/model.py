"""The wiring of a run as typed values: which operator instances it has and how each is
configured. :mod:`matterstack.wiring.document` makes them from ``operators.yaml``; the
orchestrator's :class:`~matterstack.orchestrator.operator_registry.OperatorRegistry` builds operators
from them.
"""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class InstanceConfig:
    """One configured operator instance: its key, kind, settings and limit.

    ``max_concurrent`` is the instance's limit, read once: the instance's own key, else its
    settings' ``max_concurrent`` when the kind's settings class declares one; None for none.
    """

    key: str
    kind: str
    settings: Any = None
    max_concurrent: int | None = attrs.field(
        default=attrs.Factory(lambda self: getattr(self.settings, "max_concurrent", None), takes_self=True))


@attrs.frozen
class Wiring:
    """Every operator instance of a run, the routing default and the global cap.

    ``source`` says where the wiring was read from (a file, the run's snapshot, the embedded
    default); ``source_file`` is the operators.yaml it came from and ``sha256`` the digest of
    its bytes, when it came from one. ``environment`` holds a
    :class:`~matterstack.plugins.settings.EnvironmentValue` per setting an environment
    variable supplied (a run's snapshot records them).
    """

    instances: dict[str, InstanceConfig]
    default_operator: str = "local.default"
    max_concurrent: int | None = None
    source: str = "embedded default"
    source_file: str | None = None
    sha256: str | None = None
    environment: tuple = ()


def embedded_default_wiring(host) -> Wiring:
    """The wiring used without operators.yaml: ``local.default`` and ``hpc.default`` (local
    backend at the run directory), plus ``<kind>.default`` for every other installed kind."""
    instances = {}
    for kind, registration in sorted(host.operator_kinds.items()):
        settings_cls = getattr(registration, "settings", None)
        try:
            settings = settings_cls() if settings_cls is not None else None
        except TypeError:
            continue  # a kind with required settings needs operators.yaml to say them
        key = f"{kind}.default"
        instances[key] = InstanceConfig(key=key, kind=kind, settings=settings)
    return Wiring(instances=instances)
