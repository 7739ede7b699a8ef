"""Core's own plugin: operator kinds ``local`` and ``hpc``, compute backends ``local`` and
``profile``. Registered through the same hooks as any other plugin (``DEFAULT_PLUGINS``);
the implementations are imported only when an operator or backend is built.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from matterstack.plugins.hookspecs import hookimpl
from matterstack.plugins.registrations import LazyFactory
from matterstack.plugins.settings import setting

MAX_CONCURRENT_HELP = "most attempts of this instance active at once (default: the run's global cap)"


@attrs.frozen
class LocalKindSettings:
    """Settings of a ``local`` operator instance: run commands as processes on this machine."""

    backend_types: ClassVar[tuple[str, ...]] = ("local",)
    """0.2.x wrote ``backend: {type: local}`` under a local instance; no other type fits it."""

    max_concurrent: int | None = setting(None, help=MAX_CONCURRENT_HELP, from_text=True)
    backend: dict[str, Any] | None = setting(
        None, help="0.2.x's {type: local, dry_run: ...}: always the local backend, so only its dry_run matters"
    )


@attrs.frozen
class HpcKindSettings:
    """Settings of an ``hpc`` operator instance: run commands through a compute backend."""

    max_concurrent: int | None = setting(None, help=MAX_CONCURRENT_HELP, from_text=True)
    backend: dict[str, Any] | None = setting(
        None, help="the compute backend block, {type: ..., ...}; validated by that backend's settings (default: local)"
    )


@attrs.frozen
class LocalBackendSettings:
    """Settings of the ``local`` compute backend."""

    workspace_root: str | None = setting(None, help="folder under which job work directories are made (default: the run directory)")
    dry_run: bool = setting(False, help="record the command each attempt would run and complete it without running it (0.2.x)",
                            from_text=True)


@attrs.frozen
class ProfileBackendSettings:
    """Settings of the ``profile`` compute backend: a named recipe from matterstack.yaml."""

    name: str = setting(help="the profile's name in matterstack.yaml or ~/.matterstack/config.yaml")
    config: str | None = setting(
        None, help="a profiles file to read alone (default: matterstack.yaml walking up from the current folder, over ~/.matterstack/config.yaml)"
    )
    dry_run: bool = setting(False, help="record the command each attempt would run and complete it without running it (0.2.x)",
                            from_text=True)


@hookimpl
def matterstack_operator_kinds(register):
    register("local", LazyFactory("matterstack.operators.local:LocalOperator"), settings=LocalKindSettings)
    register("hpc", LazyFactory("matterstack.operators.hpc:HpcOperator"), settings=HpcKindSettings)


@hookimpl
def matterstack_compute_backends(register):
    register("local", LazyFactory("matterstack.backends.local:LocalBackend"), settings=LocalBackendSettings)
    register("profile", LazyFactory("matterstack.backends.profile:ProfileBackend"), settings=ProfileBackendSettings)
