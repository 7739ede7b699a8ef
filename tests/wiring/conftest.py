"""Fixtures of the wiring tests: plugin hosts, files written into the test's folder, and the
installed ``matterstack`` command run in subprocesses from a project folder."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from wiring_kit import WaitingKinds

from matterstack.plugins import PluginHost


@pytest.fixture
def host() -> PluginHost:
    """Every installed distribution (core, slurm, human, experiment) plus the in-test kinds
    ``approval`` and ``batch`` and the in-test backend ``labq``."""
    host = PluginHost.load(environ={})
    host.pm.register(WaitingKinds(), name="wiring-test")
    return host


@pytest.fixture
def write(tmp_path):
    """``write(name, text)``: a file in the test's folder (text dedented); returns its path."""

    def write_file(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return write_file


@pytest.fixture
def cli(tmp_path):
    """``cli(*args, cwd=None, home=None)``: the installed ``matterstack`` command, run in a
    clean environment from the project folder ``tmp_path`` (HOME: ``tmp_path/home``)."""
    from installs import clean_env, run

    script = Path(sys.executable).parent / "matterstack"
    (tmp_path / "home").mkdir(exist_ok=True)

    def call(*args: str, cwd: Path | None = None, home: Path | None = None):
        env = clean_env(HOME=str(home or tmp_path / "home"))
        return run([str(script), *map(str, args)], env=env, cwd=cwd or tmp_path)

    return call
