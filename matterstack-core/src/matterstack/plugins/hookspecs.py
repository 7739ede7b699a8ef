"""The hooks a MatterStack plugin can implement. Each spec's docstring is its reference.

A plugin is a module (or object) with functions decorated ``@hookimpl`` and named like the
specs below. Hooks that add things take a ``register`` callback and call it once per thing.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("matterstack")
hookimpl = pluggy.HookimplMarker("matterstack")


@hookspec
def matterstack_operator_kinds(register):
    """Add operator kinds: call ``register(kind, factory, settings=SettingsClass)`` once per kind."""


@hookspec
def matterstack_compute_backends(register):
    """Add compute backends: call ``register(type, factory, settings=SettingsClass, kinds=None)`` once per type."""


@hookspec
def matterstack_cli(app):
    """Add sub-commands to the ``matterstack`` typer ``app`` (``app.command()``, ``app.add_typer()``)."""


@hookspec
def matterstack_attempt_transition(event):
    """Observe one recorded attempt transition ``event`` (an ``AttemptEvent``); raising is logged, never fatal."""
