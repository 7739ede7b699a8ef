"""Kind ``human``: prepare, submit, poll, collect, cancel, reconcile and describe_wait on a
real attempt directory."""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import datetime, timedelta, timezone

import pytest
from human_kit import APPROVAL_SCHEMA, attempt_in, operator_context, write_response

from matterstack import GateTask, Task
from matterstack.plugins import AttemptStatus, PermanentOperatorError
from matterstack_ops_human.human import HumanOperator
from matterstack_ops_human.register import HumanSettings


def gate(**env) -> GateTask:
    return GateTask(task_id="approve", message="Keep which metals?",
                    env={"RESPONSE_SCHEMA": json.dumps(APPROVAL_SCHEMA), **env})


def submitted(human, task):
    """Prepare and submit ``task``; return the attempt as the next tick sees it."""
    attempt = attempt_in(human.context.run_dir, task)
    human.prepare(attempt)
    result = human.submit(attempt)
    return attempt_in(human.context.run_dir, task, operator_data=dict(result.operator_data)), result


def observe(human, attempt):
    return human.poll([attempt])[attempt.attempt_id]


def test_prepare_writes_instructions_schema_and_manifest(human):
    attempt, result = submitted(human, gate())
    folder = attempt.attempt_dir

    instructions = (folder / "instructions.md").read_text()
    assert instructions.startswith("# Human Task: approve\n\nKeep which metals?\n")
    assert "keep (required): a list or a string" in instructions
    assert f"matterstack human respond {attempt.run_id} approve --approve" in instructions
    schema = json.loads((folder / "schema.json").read_text())
    assert schema["properties"]["status"]["enum"] == ["COMPLETED", "FAILED", "WAITING"]
    assert schema["properties"]["data"] == APPROVAL_SCHEMA and schema["required"] == ["status"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["operator_key"], manifest["token"], manifest["task"]["task_id"]) == ("human.default", "a1", "approve")
    assert (result.status, result.external_id) == (AttemptStatus.WAITING_EXTERNAL, None)
    assert result.reason == "waiting for response.json in tasks/approve/attempts/a1"


def test_without_instructions_the_default_names_the_task_and_stages_its_files(human):
    task = Task(task_id="look", files={"candidates.txt": "Pt\nPd\n"})

    attempt, _ = submitted(human, task)

    assert "Task `look` of run" in (attempt.attempt_dir / "instructions.md").read_text()
    assert (attempt.attempt_dir / "candidates.txt").read_text() == "Pt\nPd\n"


@pytest.mark.parametrize("task, message", [
    (Task(task_id="t", env={"RESPONSE_SCHEMA": "[1"}), "invalid response schema"),
    (Task(task_id="t", env={"TIMEOUT_MINUTES": "soon"}), "env['TIMEOUT_MINUTES'] must be a positive number"),
    (Task(task_id="t", env={"TIMEOUT_MINUTES": "-5"}), "must be a positive number"),
    (Task(task_id="t", files={"response.json": "{}"}), "would overwrite the request's own file"),
])
def test_a_request_that_cannot_be_made_is_refused_at_prepare(human, task, message):
    with pytest.raises(PermanentOperatorError, match="task 't'") as refused:
        human.prepare(attempt_in(human.context.run_dir, task))

    assert message in str(refused.value)


def test_without_a_response_the_attempt_keeps_waiting_and_says_for_which_file(human):
    attempt, _ = submitted(human, gate())

    seen = observe(human, attempt)

    assert (seen.status, seen.reason) == (AttemptStatus.WAITING_EXTERNAL, "waiting for response.json")
    assert human.describe_wait(attempt) == (
        f"response.json in tasks/approve/attempts/a1 (answer with `matterstack human respond {attempt.run_id} approve`)")


def test_a_valid_answer_completes_and_its_data_and_dropped_files_are_collected(human):
    attempt, _ = submitted(human, gate())
    (attempt.attempt_dir / "notes.txt").write_text("Pt looks best\n")
    (attempt.attempt_dir / "plots").mkdir()
    (attempt.attempt_dir / "plots" / "volcano.csv").write_text("Pt,0.9\n")
    write_response(attempt, {"status": "COMPLETED", "data": {"keep": "Pt,Pd"}, "files": ["notes.txt"]})

    seen = observe(human, attempt)
    collected = human.collect(attempt)

    assert (seen.status, seen.reason) == (AttemptStatus.COMPLETED, "the person answered COMPLETED")
    assert collected.data == {"keep": "Pt,Pd"}
    assert collected.files == {"notes.txt": "notes.txt", "plots/volcano.csv": "plots/volcano.csv"}
    assert collected.sha256["notes.txt"] == hashlib.sha256(b"Pt looks best\n").hexdigest()


@pytest.mark.parametrize("document, message", [
    ('{"status": "COMPLETED", "data": {"keep": ', "invalid response.json: not valid JSON"),
    ({"status": "completed", "data": {"keep": "Pt"}}, 'status: "completed" is not one of COMPLETED, FAILED, WAITING'),
    ({"status": "COMPLETED", "data": {"keep": 3}}, "data.keep: expected a list or a string, found an integer"),
    ({"status": "COMPLETED", "data": {"keep": "Pt"}, "files": ["../../../../etc/passwd"]}, "is outside the attempt directory"),
])
def test_an_invalid_response_fails_the_attempt_with_the_message(human, document, message):
    attempt, _ = submitted(human, gate())
    write_response(attempt, document)

    seen = observe(human, attempt)

    assert seen.status == AttemptStatus.FAILED and message in seen.reason
    assert human.collect(attempt).data == {}


def test_a_rejection_fails_the_attempt_with_the_persons_reason(human):
    attempt, _ = submitted(human, gate())
    write_response(attempt, {"status": "FAILED", "error": "too expensive"})

    seen = observe(human, attempt)

    assert (seen.status, seen.reason) == (AttemptStatus.FAILED, "the person answered FAILED: too expensive")


def test_a_waiting_answer_keeps_waiting_and_explain_says_so(human):
    attempt, _ = submitted(human, gate())
    write_response(attempt, {"status": "WAITING", "message": "after Monday's meeting"})

    assert observe(human, attempt).status == AttemptStatus.WAITING_EXTERNAL
    assert human.describe_wait(attempt).startswith(
        "the person answered WAITING: after Monday's meeting; still waiting for a final response.json in")


def test_a_response_that_cannot_be_read_fails_the_attempt(human):
    attempt, _ = submitted(human, gate())
    (attempt.attempt_dir / "response.json").mkdir()

    seen = observe(human, attempt)

    assert seen.status == AttemptStatus.FAILED and "invalid response.json: cannot be read" in seen.reason


def test_nobody_answering_within_the_tasks_timeout_fails_the_attempt(human):
    attempt, _ = submitted(human, gate(TIMEOUT_MINUTES="30"))
    asked = datetime.now(timezone.utc) - timedelta(minutes=31)
    late = attempt_in(human.context.run_dir, attempt.task, operator_data={"requested_at": asked.isoformat()})

    assert observe(human, attempt).status == AttemptStatus.WAITING_EXTERNAL
    assert "; times out at " in human.describe_wait(attempt)
    seen = observe(human, late)
    assert seen.status == AttemptStatus.FAILED
    assert seen.reason == "nobody answered within 30 minutes (timeout_minutes): no final response.json in tasks/approve/attempts/a1"


def test_the_instance_timeout_applies_and_counts_from_the_manifest_when_nothing_was_recorded(run_dir):
    human = HumanOperator("human.slow", HumanSettings(timeout_minutes=1), operator_context(run_dir))
    attempt, _ = submitted(human, gate())
    two_minutes_ago = time.time() - 120
    os.utime(attempt.attempt_dir / "manifest.json", (two_minutes_ago, two_minutes_ago))

    assert observe(human, attempt_in(run_dir, attempt.task)).status == AttemptStatus.FAILED
    assert "Without an answer within 1 minutes the task fails." in (attempt.attempt_dir / "instructions.md").read_text()


def test_an_answer_given_in_time_wins_over_the_timeout(human):
    attempt, _ = submitted(human, gate(TIMEOUT_MINUTES="1"))
    late = attempt_in(human.context.run_dir, attempt.task, operator_data={"requested_at": "2020-01-01T00:00:00+00:00"})
    write_response(attempt, {"status": "COMPLETED", "data": {"keep": ["Pt"]}})

    assert observe(human, late).status == AttemptStatus.COMPLETED


def test_cancel_leaves_a_marker_and_a_later_poll_reports_cancelled(human):
    attempt, _ = submitted(human, gate())

    human.cancel(attempt)

    marker = json.loads((attempt.attempt_dir / "cancelled.json").read_text())
    assert marker["token"] == "a1" and marker["cancelled_at"]
    assert observe(human, attempt).status == AttemptStatus.CANCELLED


def test_reconcile_adopts_a_request_already_written_and_resubmits_the_rest(human):
    written, _ = submitted(human, gate())
    never = attempt_in(human.context.run_dir, gate(), attempt_id="a2")

    found = human.reconcile([written, never])

    assert found["a1"].status == AttemptStatus.WAITING_EXTERNAL and found["a2"] is None
