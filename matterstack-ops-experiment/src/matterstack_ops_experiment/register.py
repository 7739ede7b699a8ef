"""Registers the ``experiment`` operator kind and the ``matterstack experiment`` commands.

Kept tiny on purpose: the operator (and its HTTP client) is imported only when one is built,
the commands' module (typer only) when the command line starts, the agent when it runs.
"""

from __future__ import annotations

import attrs

from matterstack.plugins import LazyFactory, hookimpl, setting


@attrs.frozen
class LabApiSettings:
    """The lab's HTTP endpoint. The token is read from the environment, never from the file."""

    base_url: str = setting(help="the lab API's base URL")
    token_env: str | None = setting(None, help="name of the environment variable holding the API token")


@attrs.frozen
class ExperimentSettings:
    """Kind ``experiment``: requests to a lab, by file exchange or over HTTP."""

    max_concurrent: int | None = setting(None, help="most attempts of this instance active at once (default: the run's global cap)")
    exchange_dir: str | None = setting(None, help="shared folder for request/result files (default: the attempt directory)")
    api: LabApiSettings | None = setting(None, help="talk to the lab over HTTP instead of files")


@hookimpl
def matterstack_operator_kinds(register):
    register("experiment", LazyFactory("matterstack_ops_experiment.operator:ExperimentOperator"), settings=ExperimentSettings)


@hookimpl
def matterstack_cli(app):
    from matterstack_ops_experiment.cli import add_commands

    add_commands(app)
