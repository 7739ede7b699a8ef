"""The store's direct row decoding (the tick's hot path) reads every row exactly as the
converter does: the same records, and for rows it does not expect, the same error."""

from __future__ import annotations

import attrs
from core_strategies import attempts, runs, tasks
from hypothesis import given
from hypothesis import strategies as st

from matterstack.core.workflow import Task
from matterstack.store.rows import (
    _encode_task,
    attempt_from_row,
    attempt_from_values,
    attempt_values,
    run_from_row,
    run_values,
    task_copy,
    task_from_row,
    task_from_values,
    task_values,
)
from matterstack.core.convert import run_from_record, task_to_record
from matterstack.store.schema import ATTEMPT_COLUMNS, RUN_COLUMNS, TASK_COLUMNS

odd_values = (
    st.none() | st.integers(-2, 3) | st.text(max_size=20)
    | st.sampled_from(["null", "{}", "[]", '["a", 1]', '{"a": 1}', '{"a": "x"}', '{"../x": "a"}',
                       "FileFromContent(content='x')", '{"x": "FileFromContent(content=\'x\')"}',
                       "2020-01-01T00:00:00", "2020-01-01T00:00:00Z", " 2020-01-01T00:00:00+00:00",
                       "Task", "GateTask", '{"include": ["*"]}'])
)


def outcome(read):
    try:
        return "read", read()
    except Exception as exc:  # the point is to compare whatever happens
        return "raised", type(exc), str(exc)


@given(tasks)
def test_every_task_row_decodes_as_the_converter_reads_it(task):
    values = tuple(task_values(task))
    decoded = task_from_values(values)
    assert decoded == task_from_row(dict(zip(TASK_COLUMNS, values))) == task
    assert type(decoded) is type(task)


@given(tasks)
def test_every_task_is_encoded_as_the_converter_encodes_it(task):
    assert task_values(task) == _encode_task(task_to_record(task))


@given(attempts)
def test_every_attempt_row_decodes_as_the_converter_reads_it(attempt):
    values = tuple(attempt_values(attempt))
    assert attempt_from_values(values) == attempt_from_row(dict(zip(ATTEMPT_COLUMNS, values))) == attempt


@given(tasks, st.data())
def test_a_task_row_with_an_unexpected_value_reads_or_fails_as_the_converter_does(task, data):
    values = list(task_values(task))
    values[data.draw(st.integers(0, len(values) - 1))] = data.draw(odd_values)
    values = tuple(values)
    assert outcome(lambda: task_from_values(values)) == outcome(lambda: task_from_row(dict(zip(TASK_COLUMNS, values))))


@given(attempts, st.data())
def test_an_attempt_row_with_an_unexpected_value_reads_or_fails_as_the_converter_does(attempt, data):
    values = list(attempt_values(attempt))
    values[data.draw(st.integers(0, len(values) - 1))] = data.draw(odd_values)
    values = tuple(values)
    assert outcome(lambda: attempt_from_values(values)) == outcome(
        lambda: attempt_from_row(dict(zip(ATTEMPT_COLUMNS, values))))


def as_plain_task(task) -> Task:
    return Task(**{field.name: getattr(task, field.name) for field in attrs.fields(Task)})


@given(tasks.map(as_plain_task))
def test_a_task_copy_is_equal_and_shares_no_mutable_part(task):
    copy = task_copy(task)
    assert copy == task
    assert copy.files is not task.files and copy.env is not task.env and copy.dependencies is not task.dependencies
    assert task.download_patterns is None or copy.download_patterns is not task.download_patterns


@given(runs)
def test_every_run_row_decodes_as_the_converter_reads_it(run):
    row = dict(zip(RUN_COLUMNS, run_values(run)))
    assert run_from_row(row) == run_from_record(dict(row)) == run


@given(runs, st.data())
def test_a_run_row_with_an_unexpected_value_reads_or_fails_as_the_converter_does(run, data):
    row = dict(zip(RUN_COLUMNS, run_values(run)))
    row[data.draw(st.sampled_from(RUN_COLUMNS))] = data.draw(odd_values | st.sampled_from(["RUNNING", "done"]))
    assert outcome(lambda: run_from_row(row)) == outcome(lambda: run_from_record(dict(row)))
