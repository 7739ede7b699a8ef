"""MatterStack 0.2.x import paths that have no counterpart here.

Importing such a module, or such a name from a kept module, raises :class:`ImportError` with
one line saying what the old path held and what replaces it, instead of Python's bare
``No module named ...`` or ``cannot import name ...``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def gone(path: str, replacement: str) -> ImportError:
    """The error for importing ``path``, a module or name MatterStack 0.2.x had."""
    return ImportError(f"{path} was MatterStack 0.2.x's and is gone: {replacement} (see docs/migrating.md)",
                       name=path)


def gone_names(module: str, replacements: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__``: a name of ``replacements`` raises :func:`gone` naming its
    replacement; any other unknown name is the usual :class:`AttributeError`."""

    def __getattr__(name: str) -> Any:
        if name in replacements:
            raise gone(f"{module}.{name}", replacements[name])
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
