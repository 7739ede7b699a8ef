"""``status``'s one-query summary says what the full store says, before and after migration."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from store_helpers import copy_legacy_db, new_run

from matterstack.core.status import TaskStatus
from matterstack.core.workflow import Task
from matterstack.errors import StoreError
from matterstack.store import StateStore
from matterstack.store.summary import run_summary


def summary_by_store(db_path) -> dict:
    """The same facts read through the full store."""
    with StateStore.open(db_path, readonly=True) as store:
        run = store.get_run()
        return {
            "run_id": run.run_id,
            "workspace_slug": run.workspace_slug,
            "status": run.status.value,
            "status_reason": run.status_reason,
            "created_at": run.created_at.isoformat(),
            "tasks": {status.value: n for status, n in store.count_tasks_by_status().items()},
            "active_attempts": sum(store.active_attempt_counts().values()),
        }


def test_a_legacy_run_is_migrated_then_summarised_as_the_store_reads_it(tmp_path, legacy_run_id):
    # given a run written by MatterStack 0.2.x
    db_path = copy_legacy_db(legacy_run_id, tmp_path)
    # when it is summarised (which migrates it, as every command does), then again from the
    # migrated file (one query, without the store)
    first, again = run_summary(db_path), run_summary(db_path)
    # then both say what the store reads from the migrated file
    assert first == again == summary_by_store(db_path)


def test_a_file_whose_tables_cannot_be_read_is_refused_in_one_line(tmp_path, legacy_run_id):
    # given a migrated run whose attempts table was dropped by hand
    db_path = copy_legacy_db(legacy_run_id, tmp_path)
    run_summary(db_path)
    with sqlite3.connect(db_path) as connection:
        connection.execute("DROP TABLE task_attempts")
    # when it is summarised, then the store error names the file
    with pytest.raises(StoreError, match="cannot be read") as caught:
        run_summary(db_path)
    assert str(db_path) in caught.value.one_line()


@settings(max_examples=40, deadline=None)
@given(statuses=st.lists(st.sampled_from([*(s.value for s in TaskStatus), "PEND", "PENDINGX", "pending", "Z"]),
                         max_size=30))
def test_task_counts_are_those_of_grouping_every_task_by_status(statuses):
    # given a run whose tasks have any statuses, those of older writers and odd texts too
    folder = Path(tempfile.mkdtemp(prefix="ms-summary-"))
    try:
        db_path = folder / "state.sqlite"
        with StateStore.create(db_path, new_run()) as store:
            store.add_tasks([Task(task_id=f"t{i}") for i in range(len(statuses))])
        with sqlite3.connect(db_path) as connection:
            connection.executemany("UPDATE tasks SET status = ? WHERE task_id = ?",
                                   [(status, f"t{i}") for i, status in enumerate(statuses)])
            grouped = dict(connection.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status"))
        connection.close()
        # when it is summarised, then each status is counted as grouping would, in its order
        assert list(run_summary(db_path)["tasks"].items()) == list(grouped.items())
    finally:
        shutil.rmtree(folder)
