"""Fixtures for in-process plugin host tests."""

from __future__ import annotations

import pytest

from matterstack.plugins import PluginHost, reset_plugin_host


@pytest.fixture
def host() -> PluginHost:
    """A host with core's built-ins only (no entry points), for registering test plugins."""
    return PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": ""})


@pytest.fixture(autouse=True)
def fresh_process_host():
    """Each test starts and ends without a cached process-wide host."""
    reset_plugin_host()
    yield
    reset_plugin_host()
