"""The names a typer app's commands and command groups are invoked by.

Apart from the host so that the command line can choose what to load before it loads pluggy."""

from __future__ import annotations

from typing import Any


def command_name(info: Any) -> str:
    """The name a command of a typer app is invoked by (its own, else its function's)."""
    return info.name or info.callback.__name__.lower().replace("_", "-")


def group_name(info: Any) -> str | None:
    """The name a command group of a typer app is invoked by, or None when it has none of its own."""
    return getattr(info.name, "value", info.name) or getattr(info.typer_instance.info.name, "value", None)


def command_names(app: Any) -> list[str]:
    """Names of the commands and command groups a typer app has, in the order they were added."""
    return [*map(command_name, app.registered_commands), *(group_name(info) or "?" for info in app.registered_groups)]
