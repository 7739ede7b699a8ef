"""Fixtures of the ``human`` and ``manual_hpc`` tests."""

from __future__ import annotations

import pytest
from human_kit import Project, operator_context

from matterstack_ops_human.human import HumanOperator
from matterstack_ops_human.manual_hpc import ManualHpcOperator
from matterstack_ops_human.register import HumanSettings, ManualHpcSettings


@pytest.fixture
def run_dir(tmp_path):
    """An empty run directory."""
    folder = tmp_path / "run"
    folder.mkdir()
    return folder


@pytest.fixture
def human(run_dir) -> HumanOperator:
    """A ``human.default`` operator with default settings."""
    return HumanOperator("human.default", HumanSettings(), operator_context(run_dir))


@pytest.fixture
def manual_hpc(run_dir) -> ManualHpcOperator:
    """A ``manual_hpc.default`` operator."""
    return ManualHpcOperator("manual_hpc.default", ManualHpcSettings(), operator_context(run_dir))


@pytest.fixture
def project(tmp_path) -> Project:
    """A project folder driven through the installed ``matterstack`` command."""
    return Project(tmp_path / "project")
