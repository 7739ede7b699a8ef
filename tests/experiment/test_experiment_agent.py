"""The lab-side agent, as the lab runs it (``matterstack experiment agent`` in a subprocess):
a driver that raises fails one request and the agent goes on; a SIGKILLed agent, restarted,
never runs a request twice; two agents never share one."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from experiment_kit import MATTERSTACK, SIMULATED, AgentProcess, agent_env, wait_until

from installs import run
from matterstack_ops_experiment.agent import Agent
from matterstack_ops_experiment.exchange import publish_request


def request_for(lab_dir: Path, token: str, **recipe) -> Path:
    """Publish a request as the operator would, with a film recipe as its request_data."""
    data = {"deposition_time_s": 100, "temperature_c": 150, "sample_id": token, **recipe}
    publish_request(lab_dir, token, {"task_id": "synthesize", "token": token, "request_data": data}, {})
    return lab_dir / token


def result_of(folder: Path) -> dict:
    return json.loads((folder / "experiment_result.json").read_text())


def test_a_driver_that_raises_fails_that_request_and_the_agent_serves_the_next(lab_dir):
    hot = request_for(lab_dir, "a-hot", temperature_c=600)
    fine = request_for(lab_dir, "b-fine")

    result = run([MATTERSTACK, "experiment", "agent", "--exchange-dir", str(lab_dir),
                  "--driver", f"{SIMULATED}:fragile_thin_film", "--once"])

    assert result.returncode == 0, result.stderr
    assert "InstrumentError: furnace interlock" in result.stdout and "stopped: 2 request(s) answered" in result.stdout
    failed = result_of(hot)
    assert (failed["status"], failed["files"]) == ("FAILED", [])
    assert failed["error"] == ("the driver raised InstrumentError: furnace interlock: temperature_c=600 exceeds "
                               "the 450 C limit; no film was deposited")
    completed = result_of(fine)
    assert completed["status"] == "COMPLETED" and completed["files"] == ["thin_film_profile.csv"]
    assert completed["data"]["sample_id"] == "b-fine" and (fine / "thin_film_profile.csv").is_file()


def test_a_killed_agent_restarted_runs_no_request_twice(tmp_path, lab_dir):
    # given three requests and an agent killed while it measures the second one
    held = str(tmp_path / "never-opened")
    folders = [request_for(lab_dir, "r0"), request_for(lab_dir, "r1", gate=held), request_for(lab_dir, "r2")]
    env = agent_env(tmp_path)
    log = tmp_path / "driver.log"
    agent = AgentProcess(lab_dir, "counting_driver:counted", env=env)
    wait_until(lambda: log.exists() and len(log.read_text().split()) == 2)
    agent.kill()

    # when the agent starts again and serves what is left
    rerun = run([MATTERSTACK, "experiment", "agent", "--exchange-dir", str(lab_dir),
                 "--driver", "counting_driver:counted", "--once"], env=env)

    # then every request was run at most once, and the interrupted one failed with why
    assert rerun.returncode == 0, rerun.stderr
    calls = log.read_text().split()
    assert sorted(calls) == ["r0", "r1", "r2"]
    assert [result_of(f)["status"] for f in folders] == ["COMPLETED", "FAILED", "COMPLETED"]
    assert result_of(folders[1])["error"].startswith("interrupted: the lab agent (pid ")
    assert "not run again, so nothing is measured twice" in result_of(folders[1])["error"]


def test_two_agents_on_one_folder_never_run_a_request_twice(lab_dir):
    for i in range(12):
        request_for(lab_dir, f"r{i:02d}")
    calls = []
    lock = threading.Lock()

    def counted(request, workdir):
        with lock:
            calls.append(request["token"])
        time.sleep(0.01)
        return {"data": {"ok": True}}

    agents = [Agent(lab_dir, counted, log=lambda line: None) for _ in range(2)]
    threads = [threading.Thread(target=a.serve_pass) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(calls) == [f"r{i:02d}" for i in range(12)]
    assert {result_of(lab_dir / f"r{i:02d}")["status"] for i in range(12)} == {"COMPLETED"}


@pytest.mark.parametrize(("answer", "message"), [
    ("[1, 2]", "the driver returned list, expected a dict with 'data' and 'files'"),
    ("{'data': {}, 'status': 'ok'}", "the driver returned unknown key(s) 'status'; expected 'data', 'files'"),
    ("{'files': ['../x.csv']}", "file '../x.csv': '..' is not allowed"),
    ("{'files': ['never_written.csv']}", "file 'never_written.csv' is listed but missing"),
    ("{'data': {'t': float('nan')}}", "the driver's 'data' is not JSON"),
])
def test_a_driver_answer_that_breaks_the_protocol_fails_the_request(lab_dir, answer, message):
    folder = request_for(lab_dir, "r1")

    Agent(lab_dir, lambda request, workdir: eval(answer), log=lambda line: None).serve_pass()

    assert result_of(folder)["status"] == "FAILED" and message in result_of(folder)["error"]


def test_a_long_running_agent_picks_up_requests_as_they_arrive_and_stops_by_itself(tmp_path, lab_dir):
    agent = AgentProcess(lab_dir, "counting_driver:counted", env=agent_env(tmp_path), stop_after=1.5)
    folder = request_for(lab_dir, "late")  # published once the agent watches

    wait_until(lambda: (folder / "experiment_result.json").exists() and result_of(folder)["status"] != "RUNNING")
    agent.process.wait(timeout=10)

    assert result_of(folder)["status"] == "COMPLETED" and agent.process.returncode == 0


def test_an_unknown_driver_is_one_line_and_exit_code_2(lab_dir):
    result = run([MATTERSTACK, "experiment", "agent", "--exchange-dir", str(lab_dir),
                  "--driver", "no_such_lab:run", "--once"])

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: --driver: cannot import no_such_lab: ModuleNotFoundError: No module named 'no_such_lab' "
        "(fix: name it as module:function, e.g. xrd_driver:run, with the module on PYTHONPATH)"]


def test_the_http_api_needs_its_token_variable(lab_dir):
    result = run([MATTERSTACK, "experiment", "agent", "--exchange-dir", str(lab_dir), "--driver",
                  f"{SIMULATED}:thin_film", "--http-port", "0", "--token-env", "NO_SUCH_TOKEN_VAR"])

    assert result.returncode == 2 and "the environment variable NO_SUCH_TOKEN_VAR is not set" in result.stderr
