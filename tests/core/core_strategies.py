"""Hypothesis strategies for the model: keys, tasks, runs, attempts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import strategies as st

from matterstack.core.external import ExternalTask
from matterstack.core.gate import GateTask
from matterstack.core.records import Attempt, AttemptEvent, Run
from matterstack.core.status import AttemptStatus, RunStatus
from matterstack.core.workflow import FileFromContent, FileFromPath, Task

kinds = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
name_segments = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True)
canonical_keys = st.builds(
    lambda kind, segments: f"{kind}.{'.'.join(segments)}",
    kinds,
    st.lists(name_segments, min_size=1, max_size=3),
)

task_ids = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}", fullmatch=True).filter(
    lambda text: text not in (".", "..")
)
path_segments = st.from_regex(r"[A-Za-z0-9_ -][A-Za-z0-9_. -]{0,8}", fullmatch=True).filter(
    lambda text: text not in (".", "..")
)
file_keys = st.lists(path_segments, min_size=1, max_size=3).map("/".join)
file_values = st.one_of(
    st.text(),
    st.builds(FileFromContent, st.text()),
    st.builds(FileFromPath, st.text(min_size=1).map(Path)),
)
optional_counts = st.none() | st.integers(min_value=0, max_value=10**6)
globs = st.lists(st.text(max_size=10), max_size=3)
download_patterns = st.none() | st.fixed_dictionaries({}, optional={"include": globs, "exclude": globs})
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)


def _task_kwargs() -> dict:
    return dict(
        task_id=task_ids,
        image=st.text(),
        command=st.text(),
        files=st.dictionaries(file_keys, file_values, max_size=4),
        env=st.dictionaries(st.text(min_size=1), st.text(), max_size=4),
        dependencies=st.sets(task_ids, max_size=4),
        cores=optional_counts,
        memory_gb=optional_counts,
        gpus=optional_counts,
        time_limit_minutes=optional_counts,
        allow_failure=st.booleans(),
        allow_dependency_failure=st.booleans(),
        download_patterns=download_patterns,
        operator_key=st.none() | st.text(),
    )


tasks = st.one_of(
    st.builds(Task, **_task_kwargs()),
    st.builds(GateTask, **_task_kwargs()),
    st.builds(
        ExternalTask,
        **_task_kwargs(),
        request_data=json_objects,
        request_path=st.text(),
        response_path=st.text(),
        poll_interval=st.floats(min_value=0, max_value=1e6),
        timeout_minutes=st.none() | st.integers(min_value=0, max_value=10**6),
    ),
)

utc_offsets = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
)
aware_datetimes = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=utc_offsets
)
optional_text = st.none() | st.text()

runs = st.builds(
    Run,
    run_id=st.text(min_size=1),
    workspace_slug=st.text(min_size=1),
    root_path=st.text(),
    created_at=aware_datetimes,
    status=st.sampled_from(RunStatus),
    status_reason=optional_text,
    tags=json_objects,
    description=optional_text,
)
attempts = st.builds(
    Attempt,
    attempt_id=st.uuids().map(str),
    task_id=task_ids,
    run_id=st.text(min_size=1),
    attempt_index=st.integers(min_value=1, max_value=1000),
    status=st.sampled_from(AttemptStatus),
    operator_key=st.none() | canonical_keys,
    operator_type=optional_text,
    external_id=optional_text,
    operator_data=json_objects,
    relative_path=optional_text,
    created_at=st.none() | aware_datetimes,
    submitted_at=st.none() | aware_datetimes,
    ended_at=st.none() | aware_datetimes,
    status_reason=optional_text,
)
attempt_events = st.builds(
    AttemptEvent,
    attempt_id=st.uuids().map(str),
    task_id=task_ids,
    run_id=st.text(min_size=1),
    from_status=st.none() | st.sampled_from(AttemptStatus),
    to_status=st.sampled_from(AttemptStatus),
    reason=st.text(min_size=1),
    at=aware_datetimes,
    data=json_objects,
)
