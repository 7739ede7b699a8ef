"""``python -m matterstack.core.external '<json>'`` (and ``matterstack.core.gate``): the job
wrappers of 0.2.x's ExternalTask and GateTask write their request, wait for the answer for a
bounded time, and end with an exit code and one line saying why."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from installs import clean_env

WAIT = 60


def wrapper(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"matterstack.core.{module}", *args], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=WAIT)


def settings(**values) -> str:
    return json.dumps({"request_path": "request.json", "response_path": "response.json", "poll_interval": 0.05,
                       **values})


def later(path: Path, text: str, after: float = 0.3) -> threading.Thread:
    """Write ``path`` after ``after`` seconds, from another thread (the lab or the person)."""
    def write():
        time.sleep(after)
        path.write_text(text)

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def error_line(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    return line


def test_the_external_wrapper_writes_the_request_and_succeeds_when_the_response_comes(tmp_path):
    answer = later(tmp_path / "response.json", json.dumps({"status": "success", "value": 3}))

    result = wrapper("external", settings(request_data={"sample": "A1"}), cwd=tmp_path)
    answer.join()

    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "request.json").read_text()) == {"sample": "A1"}
    assert result.stderr.splitlines()[-1] == "response received from response.json"


def test_a_response_saying_failed_fails_the_job_with_its_reason(tmp_path):
    answer = later(tmp_path / "response.json", json.dumps({"status": "FAILED", "reason": "sample cracked"}))

    result = wrapper("external", settings(), cwd=tmp_path)
    answer.join()

    assert result.returncode == 1
    assert error_line(result) == "Error: response.json says failed: sample cracked"


def test_no_response_within_timeout_minutes_fails_the_job(tmp_path):
    started = time.monotonic()

    result = wrapper("external", settings(timeout_minutes=0.01), cwd=tmp_path)

    assert result.returncode == 1
    assert error_line(result) == "Error: no answer after 0.01 minute(s) waiting for response.json"
    assert time.monotonic() - started < 10


def test_a_response_that_stays_invalid_json_fails_the_job(tmp_path):
    (tmp_path / "response.json").write_text("{not json")

    result = wrapper("external", settings(), cwd=tmp_path)

    assert result.returncode == 1
    assert error_line(result).startswith("Error: response.json is not valid JSON")


@pytest.mark.parametrize("args, words", [
    ((), "expected one argument, the JSON settings"),
    (("{bad",), "the argument is not valid JSON"),
    (("[1]",), "must be a JSON object, not list"),
    ((json.dumps({"response_path": "r.json"}),), "request_path is missing"),
    ((settings(poll_interval="often"),), "poll_interval must be a number of seconds"),
])
def test_bad_settings_exit_2_with_one_line_and_write_nothing(tmp_path, args, words):
    result = wrapper("external", *args, cwd=tmp_path)

    assert result.returncode == 2
    assert words in error_line(result)
    assert list(tmp_path.iterdir()) == []


def test_the_gate_wrapper_passes_on_the_approval_file(tmp_path):
    answer = later(tmp_path / "approved.txt", "yes")

    result = wrapper("gate", json.dumps({"message": "Ship it?", "poll_interval": 0.05}), cwd=tmp_path)
    answer.join()

    assert result.returncode == 0, result.stderr
    info = json.loads((tmp_path / "gate_info.json").read_text())
    assert info == {"message": "Ship it?",
                    "instructions": "Create 'approved.txt' to approve, or 'rejected.txt' to reject."}


def test_the_gate_wrapper_fails_on_the_rejection_file(tmp_path):
    (tmp_path / "rejected.txt").write_text("no")

    result = wrapper("gate", json.dumps({"poll_interval": 0.05}), cwd=tmp_path)

    assert result.returncode == 1
    assert error_line(result) == "Error: rejected: rejected.txt exists"


def test_the_wrappers_are_importable_from_their_0_2_x_paths(tmp_path):
    from matterstack.core.external import ExternalTaskWrapper
    from matterstack.core.gate import GateTaskWrapper

    (tmp_path / "response.json").write_text("{}")
    external = ExternalTaskWrapper({"request_path": str(tmp_path / "q.json"),
                                    "response_path": str(tmp_path / "response.json")})
    (tmp_path / "approved.txt").write_text("")
    gate = GateTaskWrapper({"approve_file": str(tmp_path / "approved.txt"), "info_file": str(tmp_path / "i.json")})

    assert external.wait() == {}
    assert (external.poll_interval, external.timeout_minutes) == (5.0, 60)
    gate.run()
