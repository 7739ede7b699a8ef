"""Fixtures of the run lifecycle tests: plugin hosts with the in-test operator kinds, runs
over real SQLite files, workspaces holding a main.py."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from lifecycle_kit import RunUnderTest, ScriptedKinds, ScriptedWorld, wiring_of

from matterstack.orchestrator.api import build_registry, initialize_run
from matterstack.plugins import PluginHost


@pytest.fixture
def world() -> ScriptedWorld:
    return ScriptedWorld()


@pytest.fixture
def bare_host() -> PluginHost:
    """Core's built-ins only (``MATTERSTACK_LOAD_PLUGINS=""``): no human, no experiment."""
    return PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": ""})


@pytest.fixture
def host(world) -> PluginHost:
    """Built-ins plus the in-test kinds ``scripted``, and ``human``/``experiment`` stand-ins."""
    host = PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": ""})
    host.pm.register(ScriptedKinds(world, ("scripted", "human", "experiment")), name="scripted-test")
    return host


@pytest.fixture
def start_run(tmp_path, host):
    """``start_run(campaign, *keys, default=None, host=None, wiring=None)``: a new run of
    ``campaign`` in ``tmp_path`` with a registry of ``keys`` (default ``scripted.default``)."""
    counter = iter(range(1000))

    def start(campaign, *keys, default=None, host_=None, wiring=None, max_concurrent=None):
        chosen = host_ or host
        keys = keys or ("scripted.default",)
        handle = initialize_run("ws", campaign, base_path=tmp_path / "workspaces", run_id=f"run{next(counter)}")
        wiring = wiring or wiring_of(chosen, *keys, default=default, max_concurrent=max_concurrent)
        return RunUnderTest(handle, campaign, build_registry(handle, wiring, host=chosen))

    return start


@pytest.fixture
def make_workspace(tmp_path):
    """``make_workspace(main_py_source, slug="demo")``: a workspace folder holding main.py."""

    def make(source: str, slug: str = "demo") -> Path:
        folder = tmp_path / "workspaces" / slug
        folder.mkdir(parents=True)
        (folder / "main.py").write_text(textwrap.dedent(source))
        return folder

    return make
