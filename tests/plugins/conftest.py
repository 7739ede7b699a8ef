"""Fixtures for in-process plugin host tests."""

from __future__ import annotations

import pytest

from matterstack.plugins import PluginHost


@pytest.fixture
def host() -> PluginHost:
    """A host with core's built-ins only (no entry points), for registering test plugins."""
    return PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": ""})
