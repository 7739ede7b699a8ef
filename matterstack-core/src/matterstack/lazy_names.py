"""Names a package exports but imports on first use (PEP 562).

``matterstack``, ``matterstack.plugins``, ``matterstack.store``, ``matterstack.wiring`` and ``matterstack.testing``
list their public names with the module each lives in, so importing the package costs
nothing until a name is used (``matterstack --help`` must not load the state store, and
pytest loads ``matterstack.testing`` in every session).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_getattr(package: str, namespace: dict[str, Any], homes: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``name`` is imported from ``homes[name]`` on
    first use and kept in ``namespace`` (the package's ``globals()``) from then on."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value
        return value

    return __getattr__
