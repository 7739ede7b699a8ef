"""The operator instances of an operators.yaml outside any run, for the commands a plugin adds
(``matterstack ssh login``): each is built as a run builds it, on first use.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from matterstack.orchestrator.operator_registry import OperatorRegistry


def operators_file_for(folder: str | os.PathLike) -> Path | None:
    """The operators.yaml a run started in ``folder`` uses when no flag names one: the folder's
    own ``operators.yaml``, else the file ``$MATTERSTACK_OPERATORS_CONFIG`` names; None when
    there is neither. Nothing is read."""
    from matterstack.wiring.precedence import ambient_source

    found = ambient_source(folder)
    return None if found is None else found[1]


@contextmanager
def configured_operators(operators_file: str | os.PathLike) -> Iterator[OperatorRegistry]:
    """The instances of ``operators_file``, validated as a run validates them (a
    ``ConfigError`` naming the key path when a block is wrong). The value offers ``keys()``
    (every configured key, sorted) and ``get(key)`` (the instance's operator, built on first
    use: a ``PluginError`` when the key is not configured or its plugin cannot build it);
    what the operators hold open is closed on leaving the block."""
    from matterstack.plugins.host import get_plugin_host
    from matterstack.plugins.interfaces import OperatorContext
    from matterstack.wiring import load_wiring

    host = get_plugin_host()
    wiring = load_wiring(Path(operators_file), host)
    with tempfile.TemporaryDirectory(prefix="matterstack-operators-") as scratch:
        registry = OperatorRegistry(wiring, host, lambda: OperatorContext(
            run_id="operators", run_dir=Path(scratch), workspace_slug="operators", host=host))
        try:
            yield registry
        finally:
            registry.close()
