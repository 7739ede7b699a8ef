"""Fixtures of the ``experiment`` tests: operators over a temporary run directory, a real lab
API server on loopback, and a project driven through the installed ``matterstack`` command."""

from __future__ import annotations

import pytest
from experiment_kit import LAB_TOKEN, TOKEN_ENV, Project, http_operator, operator_context

from matterstack_ops_experiment.http_server import LabApiServer
from matterstack_ops_experiment.operator import ExperimentOperator
from matterstack_ops_experiment.register import ExperimentSettings

@pytest.fixture
def run_dir(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    return folder


@pytest.fixture
def lab_dir(tmp_path):
    """The lab's exchange folder."""
    folder = tmp_path / "lab"
    folder.mkdir()
    return folder


@pytest.fixture
def experiment(run_dir) -> ExperimentOperator:
    """``experiment.default`` over the attempt directory (no exchange_dir, no api)."""
    return ExperimentOperator("experiment.default", ExperimentSettings(), operator_context(run_dir))


@pytest.fixture
def shared(run_dir, lab_dir) -> ExperimentOperator:
    """``experiment.shared`` over the exchange folder ``lab_dir``."""
    return ExperimentOperator("experiment.shared", ExperimentSettings(exchange_dir=str(lab_dir)), operator_context(run_dir))


@pytest.fixture
def lab_server(lab_dir):
    """The agent's lab API over ``lab_dir`` on 127.0.0.1, any free port."""
    with LabApiServer(lab_dir, LAB_TOKEN, log=lambda line: None) as server:
        yield server


@pytest.fixture
def lab_token(monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, LAB_TOKEN)
    return LAB_TOKEN


@pytest.fixture
def over_http(run_dir, lab_server, lab_token) -> ExperimentOperator:
    return http_operator(run_dir, lab_server.url)


@pytest.fixture
def project(tmp_path) -> Project:
    return Project(tmp_path / "project")
