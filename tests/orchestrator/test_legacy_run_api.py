"""The run API as 0.2.x scripts call it: handles made from relative paths, the handle's 0.2.x
paths, ``lifecycle_hooks=`` and ``operators_config=``, with real local jobs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from matterstack import Campaign, RunHandle, Task, Workflow, initialize_run, run_until_completion, step_run
from matterstack.core.lifecycle import AttemptLifecycleHook, CompositeLifecycleHook, LoggingHook
from matterstack.core.status import RunStatus
from matterstack.errors import ConfigError


class TwoJobs(Campaign):
    """One job that succeeds and one that fails (allowed), then done."""

    def plan(self, state):
        if state is not None:
            return None
        return Workflow([Task(task_id="good", command="echo ok > out.txt"),
                         Task(task_id="bad", command="exit 3", allow_failure=True)])

    def analyze(self, state, results):
        return {task_id: result["status"] for task_id, result in results.items()}


class Journal(AttemptLifecycleHook):
    def __init__(self):
        self.events = []

    def on_create(self, context):
        self.events.append(("create", context.task_id, context.operator_key, context.attempt_index))

    def on_submit(self, context, external_id):
        self.events.append(("submit", context.task_id, external_id is not None))

    def on_complete(self, context, success):
        self.events.append(("complete", context.task_id, success))

    def on_fail(self, context, error):
        self.events.append(("fail", context.task_id, error))


class Broken(Journal):
    def on_create(self, context):
        raise RuntimeError("hook bug")


def test_a_handle_made_from_a_relative_path_runs_local_jobs_to_completion(tmp_path, monkeypatch):
    # given a run, and a handle on it made the 0.2.x way, from a path relative to the project
    monkeypatch.chdir(tmp_path)
    first = initialize_run("ws", TwoJobs())
    handle = RunHandle(workspace_slug="ws", run_id=first.run_id,
                       root_path=Path("workspaces") / "ws" / "runs" / first.run_id)
    # when it is run to the end
    status = run_until_completion(handle, TwoJobs(), poll_interval=0.02)
    # then the jobs reported back and the run completed; the handle's path is absolute
    assert status == RunStatus.COMPLETED
    assert handle.root_path == first.root_path == tmp_path / "workspaces" / "ws" / "runs" / first.run_id
    assert (handle.root_path / "campaign_state.json").read_text() == '{"good": "COMPLETED", "bad": "FAILED"}'


def test_the_handle_names_the_run_files_0_2_x_named(tmp_path):
    handle = initialize_run("ws", TwoJobs(), base_path=tmp_path)

    assert handle.config_path == handle.root_path / "config.json"
    assert handle.operators_path == handle.root_path / "operators"
    assert handle.evidence_path == handle.root_path / "evidence"
    assert handle.db_path == handle.root_path / "state.sqlite"


def test_lifecycle_hooks_hear_each_attempt_created_submitted_and_completed_or_failed(tmp_path):
    handle = initialize_run("ws", TwoJobs(), base_path=tmp_path)
    journal = Journal()

    run_until_completion(handle, TwoJobs(), poll_interval=0.02, lifecycle_hooks=journal)

    for task_id in ("good", "bad"):
        events = [event for event in journal.events if event[1] == task_id]
        assert events[:2] == [("create", task_id, "local.default", 1), ("submit", task_id, True)]
    assert [e for e in journal.events if e[0] in ("complete", "fail")] in (
        [("complete", "good", True), ("fail", "bad", "exit code 3")],
        [("fail", "bad", "exit code 3"), ("complete", "good", True)],
    )


def test_a_hook_that_raises_is_logged_in_one_line_and_the_run_goes_on(tmp_path, caplog):
    handle = initialize_run("ws", TwoJobs(), base_path=tmp_path)
    journal = Journal()
    hooks = CompositeLifecycleHook([Broken(), journal, LoggingHook()])

    with caplog.at_level(logging.INFO):
        status = run_until_completion(handle, TwoJobs(), poll_interval=0.02, lifecycle_hooks=hooks)

    assert status == RunStatus.COMPLETED
    assert ("create", "good", "local.default", 1) in journal.events
    assert "Lifecycle hook Broken.on_create failed: RuntimeError: hook bug" in caplog.messages
    assert any(m.startswith("Attempt failed: attempt_id=") and m.endswith("task_id=bad, error=exit code 3")
               for m in caplog.messages)


def test_step_run_stops_calling_the_hooks_when_it_returns(tmp_path):
    handle = initialize_run("ws", TwoJobs(), base_path=tmp_path)
    journal = Journal()

    step_run(handle, TwoJobs(), lifecycle_hooks=journal)
    heard = list(journal.events)
    run_until_completion(handle, TwoJobs(), poll_interval=0.02)

    assert [event[0] for event in heard] == ["create", "create", "submit", "submit"]
    assert journal.events == heard


@pytest.mark.parametrize("arguments, words", [
    ({"lifecycle_hooks": object()}, "lifecycle_hooks is a object without on_create, on_submit, on_complete, on_fail"),
    ({"operators_config": {"operators": {}}}, "operators_config is a dict, not the path of an operators.yaml"),
    ({"operator_registry": {"Local": object()}}, "operator_registry (0.2.x's dict of operator objects)"),
    ({"operators_config": "missing.yaml"}, "missing.yaml"),
])
def test_arguments_0_2_x_took_that_cannot_work_are_refused_in_one_line(tmp_path, arguments, words):
    handle = initialize_run("ws", TwoJobs(), base_path=tmp_path)

    with pytest.raises(ConfigError) as refused:
        step_run(handle, TwoJobs(), **arguments)

    assert words in refused.value.one_line() and "fix:" in refused.value.one_line()
    assert "\n" not in refused.value.one_line()
    assert not (handle.root_path / "tasks").exists()


def test_operators_config_wires_the_run_as_the_operators_config_flag_does(tmp_path):
    wiring = tmp_path / "operators.yaml"
    wiring.write_text("operators:\n  local.default:\n    kind: local\n    max_concurrent: 1\n")
    handle = initialize_run("ws", TwoJobs(), base_path=tmp_path / "workspaces")

    step_run(handle, TwoJobs(), operators_config=wiring)

    assert (handle.root_path / "operators_snapshot" / "operators.yaml").read_bytes() == wiring.read_bytes()
    assert '"source": "CLI_OVERRIDE"' in (handle.root_path / "operators_snapshot" / "metadata.json").read_text()
    assert len(list(handle.root_path.glob("tasks/*/attempts/*"))) == 1  # max_concurrent 1 held
