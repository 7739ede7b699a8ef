"""The conformance kit run against kind ``experiment`` over HTTP: the agent's real lab API on
loopback, answered by the lab agent driving the simulated instrument (a thin-film coater
behind an interlock). The outage is real: an operator pointed at a closed port."""

from __future__ import annotations

import contextlib
import json
import socket

import attrs
import pytest

from matterstack import ExternalTask
from matterstack.testing import OperatorConformance
from matterstack_ops_experiment.agent import Agent
from matterstack_ops_experiment.http_server import LabApiServer
from matterstack_ops_experiment.simulated import PROFILE_FILE, fragile_thin_film

LAB_TOKEN = "conformance-lab-4e1d"
TOKEN_ENV = "CONFORMANCE_LAB_TOKEN"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TestExperimentOverHttpConformance(OperatorConformance):
    operator_key = "experiment.default"
    fail_exit_code = None
    outage_name = "closed-lab-port"
    expected_collected_files = frozenset({PROFILE_FILE, "experiment_result.json", "experiment_request.json", "recipe.txt"})
    invalid_settings = [
        ({"api": {"base_url": 8080}}, "operators.experiment.default.api.base_url: expected a string, found an integer"),
        ({"api": {"token_env": "LAB"}}, "operators.experiment.default.api: base_url is missing, and token_env is only sent over HTTP"),
        ({"api": {"base_url": "http://lab", "tokn_env": "LAB"}},
         "operators.experiment.default.api.tokn_env: unknown key (fix: did you mean 'token_env'?"),
        ({"api": {"base_url": "ftp://lab"}}, "operators.experiment.default.api.base_url: base_url must start with http://"),
        ({"exchange_dir": "/lab", "api": {"base_url": "http://lab"}}, "exchange_dir and api exclude each other"),
    ]

    @pytest.fixture(autouse=True)
    def lab(self, tmp_path, monkeypatch):
        """The lab: its API on 127.0.0.1 over an exchange folder, and the instrument's log."""
        monkeypatch.setenv(TOKEN_ENV, LAB_TOKEN)
        self.lab_dir = tmp_path / "lab"
        self.lab_dir.mkdir()
        self.runs_log = tmp_path / "instrument-runs.log"
        with LabApiServer(self.lab_dir, LAB_TOKEN, log=lambda line: None) as server:
            self.server = server
            yield

    def operator_settings(self, tmp_path):
        return {"api": {"base_url": self.server.url, "token_env": TOKEN_ENV}}

    def task(self, task_id, *, outcome):
        recipe = {"deposition_time_s": 120, "temperature_c": 100}
        if outcome == "fail":
            recipe["fault"] = "shutter jammed"
        return ExternalTask(task_id=task_id, request_data=recipe, files={"recipe.txt": "Cu film\n"},
                            env={"EXPERIMENT_CONFIG": json.dumps({"instrument": "sputter-1"})})

    def instrument(self, request, workdir):
        """The simulated coater, noting every run it makes."""
        with self.runs_log.open("a") as log:
            log.write(request["token"] + "\n")
        return fragile_thin_film(request, workdir)

    def complete_externally(self, operator, attempt, outcome):
        Agent(self.lab_dir, self.instrument, log=lambda line: None).serve_pass()

    @contextlib.contextmanager
    def unavailable(self, operator):
        closed = f"http://127.0.0.1:{free_port()}"
        settings = attrs.evolve(operator.settings, api=attrs.evolve(operator.settings.api, base_url=closed))
        down = operator.context.host.operator_kind("experiment").factory(operator.key, settings, operator.context)
        yield down
        down.close()

    def check_collected(self, attempt, collected):
        assert collected.data["thickness_nm"] > 0 and collected.data["sample_id"] == attempt.task.task_id
        assert (attempt.attempt_dir / PROFILE_FILE).read_text().startswith("position_mm,thickness_nm")

    def runs_of(self, attempt) -> int:
        text = self.runs_log.read_text() if self.runs_log.exists() else ""
        return text.splitlines().count(attempt.attempt_id)

    def executions(self, operator, attempt, collected):
        return self.runs_of(attempt)

    def assert_work_stopped(self, operator, attempt):
        """The withdrawn request is never measured, even by an agent that looks afterwards."""
        Agent(self.lab_dir, self.instrument, log=lambda line: None).serve_pass()
        assert self.runs_of(attempt) == 0
        assert not (attempt.attempt_dir / "experiment_result.json").exists()
