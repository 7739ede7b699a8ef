"""The converter: model ⇄ JSON-able records, exact round trips, 0.2.x values read back."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from core_strategies import attempt_events, attempts, runs, tasks
from hypothesis import example, given
from hypothesis import strategies as st

from matterstack.core.convert import (
    TASK_COLUMNS,
    attempt_from_record,
    attempt_to_record,
    event_from_record,
    event_to_record,
    run_from_record,
    run_to_record,
    task_from_record,
    task_to_record,
)
from matterstack.core.external import ExternalTask
from matterstack.core.gate import GateTask
from matterstack.core.status import AttemptStatus, RunStatus
from matterstack.core.workflow import FileFromContent, FileFromPath, Task
from matterstack.errors import StoreError, WorkflowError


def through_json(record: dict) -> dict:
    return json.loads(json.dumps(record))


@given(tasks)
@example(Task(task_id="t", files={"a": "content='looks like 0.2.x'", "b": "source_path=PosixPath('/x')"}))
@example(Task(task_id="t", files={"a": "multi\nline ünïcode ✓", "b": Path("rel/p.csv"), "c": FileFromContent("")}))
def test_every_task_round_trips_through_a_json_record(task):
    # when a task is written as a record, through JSON, and read back
    record = task_to_record(task)
    again = task_from_record(through_json(record))
    # then it is the same task, of the same type, and the record has the column names
    assert again == task
    assert type(again) is type(task)
    assert tuple(record) == TASK_COLUMNS
    assert record["dependencies"] == sorted(task.dependencies)


def test_task_record_encodes_each_kind_of_file():
    task = Task(task_id="t", files={"a": "inline", "b": FileFromContent("x\n"), "c": Path("/d/m.csv")})
    assert task_to_record(task)["files"] == {
        "a": "inline",
        "b": {"__file__": "content", "content": "x\n"},
        "c": {"__file__": "path", "source_path": "/d/m.csv"},
    }


def test_task_record_of_each_type_says_its_type():
    assert [task_to_record(cls(task_id="t"))["task_type"] for cls in (Task, GateTask, ExternalTask)] == [
        "Task", "GateTask", "ExternalTask",
    ]


def test_legacy_repr_file_values_are_decoded():
    record = {
        "task_id": "gen_candidates",
        "image": "img",
        "command": "cat",
        "files": json.dumps({
            "notes.txt": "content='explicit content file\\n'",
            "copy.csv": "source_path=PosixPath('/tmp/ms-f04323b/workspaces/polymer_dft/data/monomers.csv')",
            "seed.txt": "/tmp/ms-955930f/workspaces/catalyst_loop/data/seed_slabs.txt",
            "odd.txt": "content=not a literal",
        }),
        "env": "{}",
        "dependencies": "[]",
        "allow_dependency_failure": 0,
        "allow_failure": 1,
        "download_patterns": "null",
        "task_type": "Task",
        "status": "COMPLETED",
        "run_id": "r",
    }
    task = task_from_record(record)
    assert task.files == {
        "notes.txt": FileFromContent("explicit content file\n"),
        "copy.csv": FileFromPath("/tmp/ms-f04323b/workspaces/polymer_dft/data/monomers.csv"),
        "seed.txt": "/tmp/ms-955930f/workspaces/catalyst_loop/data/seed_slabs.txt",
        "odd.txt": "content=not a literal",
    }
    assert (task.allow_failure, task.allow_dependency_failure, task.download_patterns) == (True, False, None)


def test_a_schema_1_task_row_without_newer_columns_reads_with_defaults():
    row = {
        "task_id": "prep_lattice", "run_id": "r", "image": "img", "command": "cp a b", "files": "{}",
        "env": "{}", "dependencies": '["x"]', "cores": 1, "memory_gb": 1, "gpus": 0,
        "time_limit_minutes": 60, "allow_dependency_failure": 0, "allow_failure": 0,
        "status": "COMPLETED", "task_type": "Task",
    }
    task = task_from_record(row)
    assert (task.cores, task.gpus, task.download_patterns, task.operator_key) == (1, 0, None, None)
    assert task.dependencies == {"x"}


def test_an_unknown_task_type_is_an_error_naming_it():
    with pytest.raises(WorkflowError, match="Robot"):
        task_from_record({"task_id": "t", "task_type": "Robot"})


def test_an_unreadable_file_value_is_an_error_naming_task_and_file():
    with pytest.raises(WorkflowError, match="'weird'") as caught:
        task_from_record({"task_id": "t7", "files": {"weird": {"__file__": "socket"}}})
    assert "t7" in str(caught.value)


@given(runs)
def test_every_run_round_trips_through_a_json_record(run):
    assert run_from_record(through_json(run_to_record(run))) == run


@given(attempts)
def test_every_attempt_round_trips_through_a_json_record(attempt):
    assert attempt_from_record(through_json(attempt_to_record(attempt))) == attempt


@given(attempt_events)
def test_every_attempt_event_round_trips_through_a_json_record(event):
    assert event_from_record(through_json(event_to_record(event))) == event


def test_datetimes_are_written_as_utc_iso_with_offset_and_enums_as_values():
    created = datetime(2026, 11, 24, 14, 22, 16, 617543, tzinfo=timezone.utc)
    record = run_to_record(
        run_from_record({"run_id": "r", "workspace_slug": "w", "root_path": "p", "created_at": created, "status": "PAUSED"})
    )
    assert record["created_at"] == "2026-11-24T14:22:16.617543+00:00"
    assert record["status"] == "PAUSED"


@pytest.mark.parametrize(
    "text", ["2026-11-24 14:22:16.617543", "2026-11-24T14:22:16.617543Z", "2026-11-24T15:22:16.617543+01:00"]
)
def test_legacy_naive_and_other_iso_datetimes_read_as_utc(text):
    run = run_from_record({"run_id": "r", "workspace_slug": "w", "root_path": "p", "created_at": text,
                           "status": "COMPLETED", "tags": "{}", "status_reason": None, "description": None})
    assert run.created_at == datetime(2026, 11, 24, 14, 22, 16, 617543, tzinfo=timezone.utc)
    assert run.created_at.tzinfo is timezone.utc
    assert (run.status, run.tags) == (RunStatus.COMPLETED, {})


def test_a_schema_2_attempt_row_reads_without_operator_key():
    row = {
        "attempt_id": "91a2170c-a449-4e04-9f9b-7e96b74d99b0", "task_id": "build_chains", "run_id": "r",
        "attempt_index": 1, "status": "COMPLETED", "operator_type": "HPC", "external_id": "build_chains",
        "operator_data": '{"output_data": {"job_id": "build_chains"}}', "relative_path": "tasks/b/attempts/9",
        "created_at": "2026-11-24 14:24:16.751759", "submitted_at": "2026-11-24 14:24:16.771100",
        "ended_at": None, "status_reason": None,
    }
    attempt = attempt_from_record(row)
    assert (attempt.status, attempt.operator_key, attempt.ended_at) == (AttemptStatus.COMPLETED, None, None)
    assert attempt.operator_data == {"output_data": {"job_id": "build_chains"}}
    assert attempt.submitted_at == datetime(2026, 11, 24, 14, 24, 16, 771100, tzinfo=timezone.utc)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
def test_any_naive_legacy_time_text_reads_as_the_same_wall_clock_in_utc(moment):
    row = {"attempt_id": "a", "task_id": "t", "run_id": "r", "attempt_index": 1, "status": "CREATED",
           "created_at": moment.strftime("%Y-%m-%d %H:%M:%S.%f")}
    assert attempt_from_record(row).created_at == moment.replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"task_id": "t", "cores": "many"}, "record.cores"),
        ({"task_id": "t", "env": "{not json"}, "'env' is not valid JSON"),
        ({"task_id": "t", "files": {"../x": "y"}}, "'..'"),
    ],
)
def test_a_damaged_task_record_is_a_workflow_error_saying_what_is_wrong(record, message):
    with pytest.raises(WorkflowError, match=message) as caught:
        task_from_record(record)
    assert "'t'" in str(caught.value)


def test_a_damaged_attempt_record_is_a_store_error_naming_each_field():
    with pytest.raises(StoreError) as caught:
        attempt_from_record({"attempt_id": "a9", "task_id": "t", "run_id": "r", "attempt_index": 1,
                             "status": "DONE", "created_at": "yesterday"})
    assert all(part in str(caught.value) for part in ("'a9'", "record.status", "record.created_at"))
