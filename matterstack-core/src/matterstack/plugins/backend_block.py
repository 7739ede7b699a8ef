"""The ``backend`` block of a compute instance (``hpc.dev: {backend: {type: slurm, ...}}``),
validated once, when operators.yaml is read.

:func:`read_backend_block` checks the block's ``type`` against the installed backends (and
the kinds a backend allows) and structures the rest through that backend's settings class.
The result, a :class:`BackendBlock`, still reads as the block (a mapping of what the file
said, with the values the environment supplied written in, a secret's excepted), so code
that looked at ``settings.backend["type"]`` keeps working, and it carries the typed
``settings`` a kind hands to the backend's factory without validating the block again.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from matterstack.errors import ConfigError, PluginError
from matterstack.plugins.settings import EnvironmentValue, describe_value, structure_settings
from matterstack.plugins.settings_keys import normalize_keys

DEFAULT_BACKEND_TYPE = "local"
"""The backend of an instance whose kind takes one and whose block names none."""


class BackendBlock(dict):
    """A backend block as validated: the block as written (this dict: ``type`` and the
    options, never a secret's value), and the backend's typed :attr:`settings`.

    A dict, as the block was before it was typed, so code reading ``settings.backend["type"]``
    or dumping it as JSON keeps working; treat it as read-only: the settings do not follow an
    edit."""

    __slots__ = ("settings",)

    def __init__(self, written: Mapping[str, Any], settings: Any):
        super().__init__(written)
        self.settings = settings

    @property
    def type(self) -> str:
        """The backend type (``local``, ``slurm``, ...)."""
        return self["type"]


def read_backend_block(block: Mapping | None, *, host, kind: str, where: str, allowed: tuple[str, ...] | None = None,
                       notes: list | None = None, lenient: bool = False, environ: Mapping[str, str] | None = None,
                       secret_environ: Mapping[str, str] | None = None,
                       supplied: list[EnvironmentValue] | None = None) -> BackendBlock:
    """The block at key path ``where`` of an instance of ``kind``, with its ``type`` filled in
    (default ``local``) and validated by that backend's settings class; ``allowed`` the types
    the kind's settings class takes. ``notes``, ``lenient``, the environments and
    ``supplied`` as for :func:`~matterstack.plugins.settings.structure_settings`. Raises one
    :class:`ConfigError` naming the key path."""
    block = dict(block or {})
    backend_type = block.setdefault("type", DEFAULT_BACKEND_TYPE)
    if not isinstance(backend_type, str):
        raise ConfigError(f"expected a string, found {describe_value(backend_type)}", where=f"{where}.type",
                          fix="name a backend type, e.g. type: local or type: slurm")
    if allowed is not None and backend_type not in allowed:
        raise ConfigError(f"kind {kind!r} takes only backend type {' or '.join(allowed)}", where=f"{where}.type",
                          fix=f"write type: {allowed[0]}, or make it an hpc.<name> instance for a {backend_type} backend")
    try:
        registration = host.compute_backends[backend_type]
    except PluginError as exc:
        raise ConfigError(exc.what, where=f"{where}.type", fix=exc.fix) from None
    only = registration.kinds
    if only is not None and kind not in only:
        raise ConfigError(f"backend type {backend_type!r} is only for kind {' or '.join(map(repr, only))}",
                          where=f"{where}.type", fix=f"move it under a {only[0]}.<name> instance, or use another backend type")
    options = {k: v for k, v in block.items() if k != "type"}
    found: list[EnvironmentValue] = []
    settings = structure_settings(registration.settings, options, where=where, notes=notes, lenient=lenient,
                                  environ=environ, secret_environ=secret_environ, supplied=found)
    if supplied is not None:
        supplied.extend(found)
    # the block as written: minus the keys a lenient read warned about and dropped, plus what
    # the environment supplied (a secret's value stays out: it is never written anywhere)
    written = normalize_keys(registration.settings, options, where=where, notes=None, lenient=lenient, as_written=True)
    for value in found:
        if value.value is not None:
            _put_read_value(written, settings, value.where[len(where) + 1:].split("."))
    return BackendBlock({"type": backend_type, **written}, settings)


def _put_read_value(block: dict, settings: Any, path: list[str]) -> None:
    """Write the value ``settings`` holds at the dotted ``path`` into the block, as the file
    would have written it (an enum by its value); a nested block not written under its own
    name is left alone."""
    for step in path[:-1]:
        block, settings = block.get(step), getattr(settings, step)
        if not isinstance(block, dict):
            return
    value = getattr(settings, path[-1])
    block[path[-1]] = value.value if isinstance(value, enum.Enum) else value
