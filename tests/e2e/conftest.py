"""Fixtures of the end-to-end tests: a project folder where the installed ``matterstack``
command runs in subprocesses, as a user runs it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from e2e_kit import Project, kill_jobs


@pytest.fixture(scope="session")
def installed_matterstack() -> list[str]:
    """The ``matterstack`` console script beside the interpreter running the tests (the
    session's virtual environment under nox)."""
    script = Path(sys.executable).parent / "matterstack"
    assert script.exists(), f"no matterstack command beside {sys.executable}: install matterstack-core"
    return [str(script)]


@pytest.fixture
def project(tmp_path, installed_matterstack) -> Project:
    """An empty project (``<tmp>/project/workspaces/``). Local jobs a test leaves running
    are stopped afterwards."""
    folder = tmp_path / "project"
    yield Project(folder, installed_matterstack)
    kill_jobs(folder)
