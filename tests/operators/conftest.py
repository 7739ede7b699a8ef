"""Fixtures of the compute operator tests: the built-in ``local`` and ``hpc`` kinds (no
plugin distributions loaded) running real processes for runs in ``tmp_path``."""

from __future__ import annotations

import pytest
from compute_kit import LocalRun, OneIteration

from matterstack.orchestrator.api import build_registry, initialize_run
from matterstack.wiring.model import embedded_default_wiring
from matterstack.plugins import PluginHost


@pytest.fixture
def bare_host() -> PluginHost:
    """Core's built-ins only: kinds ``local`` and ``hpc``, backends ``local`` and ``profile``."""
    return PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": ""})


@pytest.fixture
def local_run(tmp_path, bare_host):
    """``local_run(tasks, wiring=None)``: a new run of ``tasks`` on the embedded default wiring."""

    def start(tasks, wiring=None, run_id="r1"):
        campaign = OneIteration(tasks)
        handle = initialize_run("ws", campaign, base_path=tmp_path / "workspaces", run_id=run_id)
        wiring = wiring or embedded_default_wiring(bare_host)
        return LocalRun(handle, campaign, build_registry(handle, wiring, host=bare_host))

    return start
