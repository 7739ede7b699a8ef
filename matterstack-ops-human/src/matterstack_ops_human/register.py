"""Registers the ``human`` and ``manual_hpc`` operator kinds and the ``matterstack human``
commands with MatterStack.

Kept tiny on purpose: the operators are imported only when one is built, the commands' module
(typer only) when the command line starts.
"""

from __future__ import annotations

import attrs

from matterstack.plugins import LazyFactory, hookimpl, setting

MAX_CONCURRENT_HELP = "most attempts of this instance active at once (default: the run's global cap)"


@attrs.frozen
class HumanSettings:
    """Kind ``human``: a person answers with response.json (or ``matterstack human respond``)."""

    max_concurrent: int | None = setting(None, help=MAX_CONCURRENT_HELP, from_text=True)
    timeout_minutes: float | None = setting(None, help="fail the attempt when nobody answered within this time",
                                            from_text=True)


@attrs.frozen
class ManualHpcSettings:
    """Kind ``manual_hpc``: a person runs a job bundle on a cluster the orchestrator cannot reach."""

    max_concurrent: int | None = setting(None, help=MAX_CONCURRENT_HELP, from_text=True)


@hookimpl
def matterstack_operator_kinds(register):
    register("human", LazyFactory("matterstack_ops_human.human:HumanOperator"), settings=HumanSettings)
    register("manual_hpc", LazyFactory("matterstack_ops_human.manual_hpc:ManualHpcOperator"), settings=ManualHpcSettings)


@hookimpl
def matterstack_cli(app):
    from matterstack_ops_human.cli import add_commands

    add_commands(app)
