"""Operator kind ``experiment`` for lab instruments (see ``register``)."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # The version is read from the installed metadata on first use, not at import.
    if name == "__version__":
        from importlib.metadata import version

        return version("matterstack-ops-experiment")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
