"""Reading ``response.json``: every input parses into an answer or fails with a message."""

from __future__ import annotations

import json

import pytest
from human_kit import APPROVAL_SCHEMA
from hypothesis import given, settings
from hypothesis import strategies as st

from matterstack.plugins import PermanentOperatorError
from matterstack_ops_human.response import STATUSES, data_schema_for, parse_answer
from matterstack_ops_human.schema import validate
from matterstack import Task

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
responses = st.fixed_dictionaries(
    {"status": st.sampled_from([*STATUSES, "completed", "Failed", "DONE", ""]) | json_values},
    optional={
        "data": json_values | st.fixed_dictionaries({}, optional={"keep": json_values, "kep": json_values}),
        "error": json_values,
        "message": json_values,
        "files": st.lists(st.sampled_from(["notes.txt", "../x", "/etc/passwd", "", "missing.csv", "a\x00b"])
                          | st.text(max_size=10), max_size=3) | json_values,
    },
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """An attempt directory holding one dropped file, ``notes.txt``."""
    path = tmp_path_factory.mktemp("attempt")
    (path / "notes.txt").write_text("looked fine\n")
    return path


def check_outcome(answer) -> None:
    assert answer.status in STATUSES
    if not answer.valid:
        assert answer.status == "FAILED"
        assert answer.reason.startswith("invalid response.json: ") and len(answer.reason) > 24
    elif answer.status == "COMPLETED":
        assert validate(answer.data, APPROVAL_SCHEMA) == []


@settings(max_examples=200, deadline=None)
@given(document=json_values | responses)
def test_any_json_value_parses_or_fails_with_a_message(document, folder):
    check_outcome(parse_answer(json.dumps(document), APPROVAL_SCHEMA, folder))


@settings(max_examples=200, deadline=None)
@given(raw=st.text() | st.binary())
def test_any_text_or_bytes_parse_or_fail_with_a_message(raw, folder):
    check_outcome(parse_answer(raw, APPROVAL_SCHEMA, folder))


@pytest.mark.parametrize("raw, message", [
    ('{"status": "COMPLETED", "data": {"keep": "Pt"', "not valid JSON (Expecting"),
    ("", "not valid JSON"),
    (b"\xff\xfe\x00", "not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"status": "COMPLETED", "data": {"keep": NaN}}', "NaN is not JSON"),
    ('{"status": "COMPLETED", "data": {"keep": 1e999}}', "out of range"),
    ('["COMPLETED"]', 'expected a JSON object, found ["COMPLETED"]'),
    ('{"data": {}}', "status: required field is missing (one of COMPLETED, FAILED, WAITING)"),
    ('{"status": "completed"}', 'status: "completed" is not one of COMPLETED, FAILED, WAITING (write it exactly, in upper case)'),
    ('{"status": "DONE"}', 'status: "DONE" is not one of COMPLETED, FAILED, WAITING'),
    ('{"status": "COMPLETED"}', "data.keep: required field is missing"),
    ('{"status": "COMPLETED", "data": {"keep": 3}}', "data.keep: expected a list or a string, found an integer"),
    ('{"status": "COMPLETED", "data": {"kep": "Pt"}}', "data.kep: unknown field (allowed: keep)"),
    ('{"status": "FAILED", "data": []}', "data: expected an object, found a list"),
    ('{"status": "FAILED", "error": 3}', "error: expected a string, found an integer"),
    ('{"status": "COMPLETED", "data": {"keep": "Pt"}, "files": ["../x"]}', 'files[0]: "../x" is outside the attempt directory'),
    ('{"status": "COMPLETED", "data": {"keep": "Pt"}, "files": ["/etc/passwd"]}', "is outside the attempt directory"),
    ('{"status": "COMPLETED", "data": {"keep": "Pt"}, "files": ["gone.csv"]}', 'files[0]: "gone.csv" is not a file'),
    ('{"status": "COMPLETED", "data": {"keep": "Pt"}, "files": "notes.txt"}', "files: expected a list"),
])
def test_an_invalid_response_fails_with_the_validation_message(raw, message, folder):
    answer = parse_answer(raw, APPROVAL_SCHEMA, folder)

    assert (answer.status, answer.valid) == ("FAILED", False)
    assert message in answer.reason


def test_a_file_symlinked_out_of_the_attempt_directory_is_outside(tmp_path):
    attempt_dir = tmp_path / "attempt"
    attempt_dir.mkdir()
    (tmp_path / "secret.txt").write_text("x")
    (attempt_dir / "link.txt").symlink_to(tmp_path / "secret.txt")

    answer = parse_answer('{"status": "FAILED", "files": ["link.txt"]}', APPROVAL_SCHEMA, attempt_dir)

    assert 'files[0]: "link.txt" is outside the attempt directory' in answer.reason


@pytest.mark.parametrize("raw, status, reason, data", [
    ('{"status": "COMPLETED", "data": {"keep": ["Pt"]}, "message": "fine", "files": ["notes.txt"]}',
     "COMPLETED", "the person answered COMPLETED: fine", {"keep": ["Pt"]}),
    ('{"status": "FAILED", "error": "too costly"}', "FAILED", "the person answered FAILED: too costly", {}),
    ('{"status": "FAILED"}', "FAILED", "the person answered FAILED: no reason given", {}),
    ('{"status": "WAITING", "message": "after the group meeting"}', "WAITING",
     "the person answered WAITING: after the group meeting", {}),
    ('\ufeff{"status": "COMPLETED", "data": {"keep": "Pt"}, "responded_by": "pi"}'.encode(), "COMPLETED",
     "the person answered COMPLETED", {"keep": "Pt"}),
])
def test_a_valid_response_gives_its_status_reason_and_data(raw, status, reason, data, folder):
    answer = parse_answer(raw, APPROVAL_SCHEMA, folder)

    assert (answer.status, answer.reason, answer.data, answer.valid) == (status, reason, data, True)


def test_the_schema_comes_from_the_task_env_or_its_response_schema_file(tmp_path):
    from_env = Task(task_id="t", env={"RESPONSE_SCHEMA": json.dumps(APPROVAL_SCHEMA)})
    from_file = Task(task_id="t", files={"response_schema.json": json.dumps(APPROVAL_SCHEMA)})
    (tmp_path / "response_schema.json").write_text(json.dumps(APPROVAL_SCHEMA))

    assert data_schema_for(from_env, tmp_path) == APPROVAL_SCHEMA
    assert data_schema_for(from_file, tmp_path) == APPROVAL_SCHEMA
    assert data_schema_for(Task(task_id="t"), tmp_path) == {"type": "object"}


def test_data_is_an_object_even_when_the_task_schema_names_no_type(tmp_path):
    task = Task(task_id="t", env={"RESPONSE_SCHEMA": '{"required": ["keep"]}'})

    answer = parse_answer('{"status": "COMPLETED", "data": ["Pt"]}', data_schema_for(task, tmp_path), tmp_path)

    assert "data: expected an object, found a list" in answer.reason


@pytest.mark.parametrize("task, message", [
    (Task(task_id="t", env={"RESPONSE_SCHEMA": "{keep"}), "invalid response schema in env['RESPONSE_SCHEMA']: not JSON"),
    (Task(task_id="t", env={"RESPONSE_SCHEMA": '{"type": "array"}'}), "the schema of data must describe an object"),
    (Task(task_id="t", env={"RESPONSE_SCHEMA": '{"pattern": "x"}'}), "unsupported keyword 'pattern'"),
    (Task(task_id="t", env={"RESPONSE_SCHEMA": "{}"}, files={"response_schema.json": "{}"}), "given twice"),
    (Task(task_id="t", files={"response_schema.json": "{}"}), "cannot read file response_schema.json"),
])
def test_a_bad_task_schema_is_refused_with_the_reason(task, message, tmp_path):
    with pytest.raises(PermanentOperatorError, match="task 't'") as refused:
        data_schema_for(task, tmp_path)

    assert message in str(refused.value)
