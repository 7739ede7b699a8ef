"""An answer over the limit for answer files (``MATTERSTACK_MAX_ANSWER_MB``) is never read:
the attempt keeps waiting with the answer kept as it is, ``explain`` says why and how to
raise the limit, and once it is raised the next tick reads the answer."""

from __future__ import annotations

import json

import pytest
from human_kit import attempt_in
from test_manual_hpc_operator import bundle, observe

from matterstack.plugins import AttemptStatus

LIMIT = "MATTERSTACK_MAX_ANSWER_MB"


def large_answer(kilobytes: int) -> str:
    return json.dumps({"status": "COMPLETED", "data": {"keep": "Pt"}, "message": "x" * (kilobytes * 1024)})


def test_a_response_over_the_limit_leaves_the_request_waiting_until_the_limit_is_raised(project):
    # given a request waiting for a person, and a limit of 0.05 MB for answer files
    project.add_gate_workspace()
    run_id = project.init("gate")
    project.ms("step", run_id)
    project.env[LIMIT] = "0.05"
    answer = large_answer(200)
    folder = project.attempt_dir(run_id, "approve")
    (folder / "response.json").write_text(answer)

    # when the run is stepped
    stepped = project.ms("step", run_id)
    (waiting,) = project.attempts(run_id, "approve")
    explained = project.ok("explain", run_id)
    refused = project.ms("human", "respond", run_id, "approve", "--reject", "--message", "no")

    # then nothing failed, the answer is kept unread, explain names the file, the limit and the fix
    assert stepped.returncode == 0 and "Traceback" not in stepped.stderr
    assert waiting["status"] == "WAITING_EXTERNAL"
    assert (folder / "response.json").read_text() == answer
    assert "response.json: is 0.2 MB, over the 0.05 MB limit for answer files; it was not read" in explained
    assert f"(fix: set {LIMIT}=1 (megabytes) where matterstack runs, or make the file smaller)" in explained
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "over the 0.05 MB limit for answer files" in refused.stderr

    # when the limit is raised
    project.env[LIMIT] = "1"
    project.ms("step", run_id)

    # then the next tick reads the answer
    (answered,) = project.attempts(run_id, "approve")
    assert answered["status"] == "COMPLETED"


def test_a_limit_that_is_not_a_size_leaves_requests_waiting_and_says_so(project):
    project.add_gate_workspace()
    run_id = project.init("gate")
    project.ms("step", run_id)
    (project.attempt_dir(run_id, "approve") / "response.json").write_text(large_answer(1))
    project.env[LIMIT] = "lots"

    stepped = project.ms("step", run_id)
    explained = project.ok("explain", run_id)

    assert stepped.returncode == 0
    assert project.attempts(run_id, "approve")[0]["status"] == "WAITING_EXTERNAL"
    assert f"{LIMIT}='lots' is not a size in megabytes (fix: set it to a number above 0 (default 64), or unset it)" in explained


def test_a_job_bundle_status_over_the_limit_is_left_unread_and_the_bundle_waits(manual_hpc, monkeypatch):
    attempt = bundle(manual_hpc)
    status = json.dumps({"status": "COMPLETED", "exit_code": 0, "error": "x" * 200_000})
    (attempt.attempt_dir / "status.json").write_text(status)
    monkeypatch.setenv(LIMIT, "0.05")

    seen = observe(manual_hpc, attempt)
    described = manual_hpc.describe_wait(attempt)

    assert seen.status == AttemptStatus.WAITING_EXTERNAL
    assert "status.json: is 0.2 MB, over the 0.05 MB limit for answer files" in seen.reason
    assert "it was not read" in described and f"set {LIMIT}=1 (megabytes)" in described
    assert (attempt.attempt_dir / "status.json").read_text() == status
    monkeypatch.setenv(LIMIT, "1")
    assert observe(manual_hpc, attempt).status == AttemptStatus.COMPLETED


@pytest.mark.parametrize("limit", ["0", "-3", "inf", "nan"])
def test_a_human_attempt_waits_with_the_reason_when_the_limit_is_set_wrong(human, run_dir, monkeypatch, limit):
    from matterstack import Task

    attempt = attempt_in(run_dir, Task(task_id="approve", command="true"))
    human.prepare(attempt)
    (attempt.attempt_dir / "response.json").write_text(large_answer(1))
    monkeypatch.setenv(LIMIT, limit)

    seen = human.poll([attempt])[attempt.attempt_id]

    assert seen.status == AttemptStatus.WAITING_EXTERNAL and "is not a size in megabytes" in seen.reason
