"""Registers the ``experiment`` operator kind and the ``matterstack experiment`` commands.

Kept tiny on purpose: the operator (and its HTTP client) is imported only when one is built,
the commands' module (typer only) when the command line starts, the agent when it runs.
"""

from __future__ import annotations

from typing import Any

import attrs

from matterstack.plugins import ANY_KEY, LazyFactory, hookimpl, pass_through, setting


@attrs.frozen
class LabApiSettings:
    """The lab's HTTP endpoint. The token is read from the environment, never from the file.

    0.2.x took any mapping here and used none of it; so a block may carry keys of the site's
    own, kept in ``site`` as written, and without ``base_url`` the lab is reached by files."""

    base_url: str | None = setting(None, help="the lab API's base URL (absent: requests and results are files, as in 0.2.x)")
    token_env: str | None = setting(None, help="name of the environment variable holding the API token")
    site: dict[str, Any] = pass_through(help="the site's own keys, kept as written for the lab's tools",
                                        spellings=ANY_KEY, hint="or a key of the site's own that is no near-miss of these")

    def __attrs_post_init__(self):
        # a token without an endpoint means base_url was forgotten: the lab would never hear
        # from us while attempts wait for result files nobody writes
        if self.token_env is not None and self.base_url is None:
            raise ValueError("base_url is missing, and token_env is only sent over HTTP: add base_url: "
                             "http(s)://..., or remove token_env to exchange files")


@attrs.frozen
class ExperimentSettings:
    """Kind ``experiment``: requests to a lab, by file exchange or over HTTP."""

    max_concurrent: int | None = setting(None, help="most attempts of this instance active at once (default: the run's global cap)",
                                         from_text=True)
    exchange_dir: str | None = setting(None, help="shared folder for request/result files (default: the attempt directory)")
    api: LabApiSettings | None = setting(None, help="talk to the lab over HTTP instead of files")


@hookimpl
def matterstack_operator_kinds(register):
    register("experiment", LazyFactory("matterstack_ops_experiment.operator:ExperimentOperator"), settings=ExperimentSettings)


@hookimpl
def matterstack_cli(app):
    from matterstack_ops_experiment.cli import add_commands

    add_commands(app)
