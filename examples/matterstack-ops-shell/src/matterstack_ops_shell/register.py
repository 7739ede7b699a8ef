"""Registers operator kind ``shell`` with MatterStack.

Kept tiny on purpose: ``matterstack --help`` imports this module, never the operator.
"""

from __future__ import annotations

import attrs

from matterstack.plugins import LazyFactory, hookimpl, setting


@attrs.frozen
class ShellSettings:
    """Kind ``shell``: run each task's command with a shell, as a detached process."""

    shell: str = setting("/bin/sh", help="the shell that runs the command, as `<shell> -c <command>`")
    max_concurrent: int | None = setting(None, help="most attempts of this instance running at once")


@hookimpl
def matterstack_operator_kinds(register):
    register("shell", LazyFactory("matterstack_ops_shell.operator:ShellOperator"), settings=ShellSettings)
