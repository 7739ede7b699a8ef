"""The environment variables that switch how plugins load (documented in docs/plugins.md).

Apart from the host so that a command can ask without importing pluggy."""

from __future__ import annotations

import os
from collections.abc import Mapping

LOAD_PLUGINS = "MATTERSTACK_LOAD_PLUGINS"
STRICT_PLUGINS = "MATTERSTACK_STRICT_PLUGINS"
TRACE_PLUGINS = "MATTERSTACK_TRACE_PLUGINS"


def switched_on(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the variable ``name`` of ``environ`` (default: the process's) says yes."""
    environ = os.environ if environ is None else environ
    return environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
