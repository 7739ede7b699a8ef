"""Fixtures for tests that drive the installed ``matterstack`` command in subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest

GREETER = """
    import typer
    from matterstack.errors import ConfigError, RunLockedError
    from matterstack.plugins import hookimpl

    @hookimpl
    def matterstack_operator_kinds(register):
        register("greeter", lambda key, settings, context: key)

    @hookimpl
    def matterstack_cli(app):
        @app.command("greet")
        def greet(name: str = "world"):
            \"\"\"Greet someone (a test plugin's command).\"\"\"
            typer.echo(f"hello {name}")

        @app.command("fail-config")
        def fail_config():
            \"\"\"Fail like bad input does.\"\"\"
            raise ConfigError("expected a string, found a list", where="operators.yaml: operators.hpc.dev.backend.partition", fix="write partition: normal")

        @app.command("fail-locked")
        def fail_locked():
            \"\"\"Fail like a locked run does.\"\"\"
            raise RunLockedError("run r1 is being stepped by another process")
"""

IDLE_CAMPAIGN = """
from matterstack import Campaign


class Idle(Campaign):
    def plan(self, state):
        return None

    def analyze(self, state, results):
        return state


def get_campaign():
    return Idle()
"""

BROKEN = """
    raise RuntimeError("the lab driver is missing")
"""


@pytest.fixture
def greeter(plugin_path):
    """A working test plugin distribution that adds kind ``greeter`` and a few commands."""
    plugin_path.add("matterstack-test-greeter", "1.0", {"greeter": "greeter_register"}, {"greeter_register": GREETER})
    return plugin_path


@pytest.fixture
def broken(plugin_path):
    """A plugin distribution whose registration module raises on import."""
    plugin_path.add("matterstack-test-broken", "0.1", {"broken": "broken_register"}, {"broken_register": BROKEN})
    return plugin_path


@pytest.fixture
def idle_workspace(tmp_path) -> Path:
    """A workspace (``<tmp>/workspaces/screen``) whose campaign plans nothing."""
    folder = tmp_path / "workspaces" / "screen"
    folder.mkdir(parents=True)
    (folder / "main.py").write_text(IDLE_CAMPAIGN)
    return folder
