"""``matterstack experiment``: the lab side of the ``experiment`` kind.

Added to the ``matterstack`` app through the ``matterstack_cli`` hook. Only typer (and the
HTTP API's default limits) is imported here; the agent and its HTTP server load when the
command runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from matterstack_ops_experiment.connection_limits import BODY_TIMEOUT_SECONDS, HEADER_TIMEOUT_SECONDS, MAX_CONNECTIONS

experiment_app = typer.Typer(
    name="experiment",
    help="The lab side of the experiment kind: the agent that answers requests with a driver.",
    no_args_is_help=True,
)


def add_commands(app: typer.Typer) -> None:
    """Add the ``experiment`` command group to the ``matterstack`` app."""
    app.add_typer(experiment_app, name="experiment")


@experiment_app.command("agent")
def agent(
    exchange_dir: Path = typer.Option(
        ..., "--exchange-dir", help="Folder to watch for experiment_request.json, recursively "
        "(the instance's exchange_dir, or a workspace's runs/ folder)."),
    driver: str = typer.Option(
        ..., "--driver", help="The lab's function as module:function, called as "
        "function(request: dict, workdir: Path) -> {'data': {...}, 'files': [...]}."),
    once: bool = typer.Option(False, "--once", help="Answer what is waiting now, then exit."),
    poll_interval: float = typer.Option(
        1.0, "--poll-interval", min=0.01, help="Seconds between looks at the folder."),
    http_port: Optional[int] = typer.Option(
        None, "--http-port", min=0, max=65535,
        help="Also serve the lab HTTP API on 127.0.0.1:PORT (0: any free port)."),
    token_env: str = typer.Option(
        "LAB_TOKEN", "--token-env", help="Variable holding the bearer token the HTTP API requires."),
    http_header_timeout: float = typer.Option(
        HEADER_TIMEOUT_SECONDS, "--http-header-timeout", min=0.01,
        help="Seconds an HTTP client has, from connecting, to send its request line and headers."),
    http_body_timeout: float = typer.Option(
        BODY_TIMEOUT_SECONDS, "--http-body-timeout", min=0.01, help="Seconds an HTTP client has to send a request body."),
    http_max_connections: int = typer.Option(
        MAX_CONNECTIONS, "--http-max-connections", min=1,
        help="HTTP connections served at once; more are answered 503 with Retry-After."),
    stop_after: Optional[float] = typer.Option(
        None, "--stop-after", min=0, help="Stop after this many seconds (default: run until interrupted)."),
) -> None:
    """Answer experiment requests with a driver function; optionally serve the HTTP API."""
    from matterstack.plugins import ConfigError

    from matterstack_ops_experiment.agent import Agent, load_driver, serve
    from matterstack_ops_experiment.protocol import REQUEST_FILE

    if not exchange_dir.is_dir():
        raise ConfigError("the exchange folder does not exist", where=str(exchange_dir), fix=f"mkdir -p {exchange_dir}")
    if once and http_port is not None:
        raise ConfigError("--once and --http-port exclude each other", where="matterstack experiment agent",
                          fix="serve the HTTP API from a long-running agent")
    function = load_driver(driver)
    worker = Agent(exchange_dir.resolve(), function, log=typer.echo)
    server = None
    if http_port is not None:
        from matterstack_ops_experiment.connection_limits import ConnectionLimits

        limits = ConnectionLimits(http_header_timeout, http_body_timeout, http_max_connections)
        server = _start_server(exchange_dir.resolve(), http_port, token_env, limits)
    typer.echo(f"watching {exchange_dir} for {REQUEST_FILE}, answering with {driver}")
    try:
        answered = serve(worker, once=once, poll_interval=poll_interval, stop_after=stop_after)
    except KeyboardInterrupt:
        answered = None
    finally:
        if server is not None:
            server.stop()
    if answered is not None:
        typer.echo(f"stopped: {answered} request(s) answered")


def _start_server(exchange_dir: Path, port: int, token_env: str, limits):
    from matterstack.plugins import ConfigError

    from matterstack_ops_experiment.http_server import LabApiServer

    token = os.environ.get(token_env)
    if not token:
        raise ConfigError(f"the environment variable {token_env} is not set: the HTTP API needs the token clients send",
                          where="--http-port", fix=f"export {token_env}=<a long random secret>")
    try:
        server = LabApiServer(exchange_dir, token, port, log=typer.echo, limits=limits).start()
    except OSError as exc:
        raise ConfigError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", where="--http-port",
                          fix="choose a free port, or 0 for any") from None
    typer.echo(f"lab API listening on {server.url}")
    return server
