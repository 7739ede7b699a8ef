"""The conformance kit run against kinds ``human`` and ``manual_hpc``: a person answers the
way people do (``human respond``'s own code, with a file attached; ``sh job.sh`` in the
bundle). Nothing outside this machine's files can be unreachable for these kinds, so the
transient tests use the kit's named fake (test ids ``fake-unreachable``)."""

from __future__ import annotations

import json
import subprocess

import pytest

from matterstack import GateTask
from matterstack.plugins import AttemptStatus, AttemptView
from matterstack.testing import OperatorConformance
from matterstack_ops_human.pending import NotWaitingError, Request
from matterstack_ops_human.answering import respond


def as_request(attempt) -> Request:
    """The request ``matterstack human respond`` would find for this attempt."""
    return Request(AttemptView(
        run_id=attempt.run_id, workspace="conformance", run_dir=attempt.run_dir, task=attempt.task,
        task_status="WAITING_EXTERNAL", attempt_id=attempt.attempt_id, attempt_index=1,
        status=AttemptStatus.WAITING_EXTERNAL, relative_dir=attempt.relative_dir, operator_key=attempt.operator_key))


def requests_with_token(attempt) -> int:
    """How many requests in the run carry the attempt's token (manifest.json of each)."""
    manifests = (json.loads(path.read_text()) for path in attempt.run_dir.rglob("manifest.json"))
    return sum(1 for manifest in manifests if manifest.get("token") == attempt.attempt_id)


class TestHumanConformance(OperatorConformance):
    operator_key = "human.default"
    fail_exit_code = None
    expected_collected_files = frozenset({"notes.txt"})
    invalid_settings = [
        ({"timeout_minutes": "soon"}, "operators.human.default.timeout_minutes: expected a number, found a string"),
        ({"backend": {"type": "local"}}, "kind 'human' takes no backend"),
    ]

    @pytest.fixture(autouse=True)
    def desk(self, tmp_path):
        """The person's own folder, where the file they attach lives."""
        self.notes = tmp_path / "desk" / "notes.txt"
        self.notes.parent.mkdir()
        self.notes.write_text("looked at the structures; fine\n")

    def operator_settings(self, tmp_path):
        return {"timeout_minutes": 1440}

    def task(self, task_id, *, outcome):
        return GateTask(task_id=task_id, message=f"Approve {task_id}?")

    def complete_externally(self, operator, attempt, outcome):
        approve = outcome == "succeed"
        respond(as_request(attempt), approve=approve, data_items=["verdict=approved"] if approve else [],
                files=[self.notes] if approve else [], message=None if approve else "the structures look wrong")

    def check_collected(self, attempt, collected):
        assert collected.data == {"verdict": "approved"}
        assert (attempt.attempt_dir / collected.files["notes.txt"]).read_text() == self.notes.read_text()

    def executions(self, operator, attempt, collected):
        return requests_with_token(attempt)

    def assert_work_stopped(self, operator, attempt):
        with pytest.raises(NotWaitingError, match="the request was cancelled"):
            respond(as_request(attempt), approve=True, data_items=[], files=[], message=None)
        assert not (attempt.attempt_dir / "response.json").exists()


class TestManualHpcConformance(OperatorConformance):
    operator_key = "manual_hpc.default"
    invalid_settings = [
        ({"max_concurrent": "two"}, "operators.manual_hpc.default.max_concurrent: expected an integer"),
        ({"timeout_minutes": 5}, "operators.manual_hpc.default.timeout_minutes: unknown key"),
    ]

    def complete_externally(self, operator, attempt, outcome):
        subprocess.run(["sh", "job.sh"], cwd=attempt.attempt_dir, capture_output=True, timeout=60)

    def assert_work_stopped(self, operator, attempt):
        """A person who brings results back after the cancellation changes nothing."""
        (attempt.attempt_dir / "output" / "late.txt").write_text("ran anyway\n")
        (attempt.attempt_dir / "status.json").write_text('{"status": "COMPLETED", "exit_code": 0}')
        assert operator.poll([attempt])[attempt.attempt_id].status == AttemptStatus.CANCELLED
