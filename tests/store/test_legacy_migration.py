"""Every run written by MatterStack 0.2.4–0.2.7 opens, migrates to our schema and reads back whole."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime, timezone

import pytest
from store_helpers import copy_legacy_db, expected_for, new_run, sha256, side_files

from matterstack.core.status import AttemptStatus, RunStatus, TaskStatus
from matterstack.errors import StoreError
from matterstack.store import StateStore, schema
from matterstack.store.layout import ORIGINAL, SchemaLayout
from matterstack.store.migrate import legacy_attempt_id

LEGACY_KEYS = {"HPC": "hpc.default", "Human": "human.default", "Experiment": "experiment.default"}


def as_utc(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    return datetime.fromisoformat(raw).replace(tzinfo=timezone.utc)


def expected_attempts(expected: dict, task: dict) -> list[dict]:
    """The attempts a task must have after migration (a v1 external run becomes attempt 1)."""
    if expected["schema_version"] != "1":
        return task["attempts"]
    external = task["external_run"]
    if external is None:
        return []
    return [
        {
            "attempt_id": str(
                uuid.uuid5(uuid.UUID("6df7afdd-8f9f-4b0c-9a2c-6f2b0c2b2b1a"), f"{expected['run_id']}:{task['task_id']}")
            ),
            "attempt_index": 1,
            "status": external["status"],
            "operator_type": external["operator_type"],
            "external_id": external["external_id"],
            "relative_path": external["relative_path"],
            "status_reason": None,
            "created_at": expected["run"]["created_at"],
            "submitted_at": None,
            "ended_at": None,
        }
    ]


def test_legacy_run_reads_back_every_run_task_and_attempt(legacy_run_id, tmp_path):
    # given a copy of a legacy run's database and what the README says it holds
    expected = expected_for(legacy_run_id)
    path = copy_legacy_db(legacy_run_id, tmp_path)

    # when it is opened (and so migrated)
    with StateStore.open(path) as store:
        run = store.get_run()
        tasks = list(store.iter_tasks())
        statuses = store.task_statuses()
        attempts = {t.task_id: store.attempts_for_task(t.task_id) for t in tasks}
        current = {task_id: attempt for task_id, _, attempt in store.tasks_with_current_attempts()}
        version, migrated_from = store.schema_version, store.migrated_from
        counts = store.count_tasks_by_status()
        integrity = store.integrity_check()

    # then nothing is lost
    assert (version, integrity) == (schema.SCHEMA_VERSION, "ok")
    assert migrated_from == SchemaLayout(ORIGINAL, int(expected["schema_version"]))
    assert run.run_id == legacy_run_id
    assert run.status == RunStatus(expected["run"]["status"])
    assert run.status_reason == expected["run"]["status_reason"]
    assert run.root_path == expected["run"]["root_path"]
    assert run.created_at == as_utc(expected["run"]["created_at"])
    assert run.tags == expected["run"]["tags"] and run.description == expected["run"]["description"]
    assert [t.task_id for t in tasks] == [t["task_id"] for t in expected["tasks"]]
    assert {s.value: n for s, n in counts.items()} == expected["counts"]["tasks_by_status"]
    for task, want in zip(tasks, expected["tasks"]):
        assert task.task_type == want["task_type"]
        assert statuses[task.task_id] == TaskStatus(want["status"])
        assert task.dependencies == set(want["dependencies"])
        assert task.allow_failure == want["allow_failure"]
        got, wanted = attempts[task.task_id], expected_attempts(expected, want)
        assert [a.attempt_id for a in got] == [a["attempt_id"] for a in wanted]
        for attempt, want_attempt in zip(got, wanted):
            assert attempt.attempt_index == want_attempt["attempt_index"]
            assert attempt.status == AttemptStatus(want_attempt["status"])
            assert attempt.operator_type == want_attempt["operator_type"]
            assert attempt.external_id == want_attempt["external_id"]
            assert attempt.relative_path == want_attempt["relative_path"]
            assert attempt.status_reason == want_attempt["status_reason"]
            for stamp in ("created_at", "submitted_at", "ended_at"):
                assert getattr(attempt, stamp) == as_utc(want_attempt[stamp])
            assert attempt.operator_key == (
                want_attempt.get("operator_key") or LEGACY_KEYS.get(want_attempt["operator_type"])
            )
        want_current = want.get("current_attempt_id", wanted[-1]["attempt_id"] if wanted else None)
        assert (current[task.task_id].attempt_id if current[task.task_id] else None) == want_current


def test_v1_external_run_becomes_the_attempt_with_the_originals_uuid5(tmp_path):
    path = copy_legacy_db("20261124_142052_f5c6a49b", tmp_path)

    with StateStore.open(path) as store:
        (attempt,) = store.attempts_for_task("prep_lattice")

    assert attempt.attempt_id == "5e0dd989-081e-508a-b4b8-473c61eab95d"
    assert legacy_attempt_id("20261124_142052_f5c6a49b", "prep_lattice") == attempt.attempt_id
    assert attempt.operator_key == "hpc.default"
    assert attempt.operator_data["operator_uuid"] == "ae830d63-3ecf-4f75-880f-1dc7896d7848"


def test_v1_tasks_get_download_patterns_as_json_text_null(tmp_path):
    path = copy_legacy_db("20261124_142113_28d86a26", tmp_path)

    StateStore.open(path).close()

    with read_closed(path) as connection:
        values = set(connection.execute("SELECT typeof(download_patterns), download_patterns FROM tasks"))
    assert values == {("text", "null")}


def test_v3_null_operator_key_is_backfilled_and_a_stub_stays_null(tmp_path):
    upgraded = copy_legacy_db("20261124_142415_359cfb40", tmp_path)
    native = copy_legacy_db("20261124_142443_89d0213d", tmp_path)

    with StateStore.open(upgraded) as store:
        (build_chains,) = store.attempts_for_task("build_chains")
        dev_keys = {a.operator_key for a in store.attempts_for_task("conf_search_ps")}
    with StateStore.open(native) as store:
        (stub,) = store.attempts_for_task("external_qc")

    assert build_chains.operator_type == "HPC" and build_chains.operator_key == "hpc.default"
    assert dev_keys == {"hpc.dev"}
    assert stub.operator_type == "stub" and stub.operator_key is None


def test_dependencies_and_waiting_on_are_backfilled(tmp_path):
    path = copy_legacy_db("20261124_142443_89d0213d", tmp_path)

    with StateStore.open(path) as store:
        final_report = store.get_task("final_report")
        unfinished = [
            dep for dep in final_report.dependencies if not store.task_status(dep).is_terminal
        ]
        waiting = store.waiting_on("final_report")
        dependents = store.dependents("md_equil_prep")

    assert waiting == len(unfinished) == 3
    assert dependents == ["md_production"]


def read_closed(path) -> sqlite3.Connection:
    """A connection that cannot change the file or leave -wal/-shm behind."""
    return sqlite3.connect(f"file:{path}?immutable=1", uri=True)


def schema_dump(path) -> list:
    with read_closed(path) as connection:
        return connection.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()


def rows_dump(path) -> dict:
    with read_closed(path) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(connection.execute(f"SELECT * FROM {t}"), key=repr) for t in tables}


def test_second_open_changes_nothing(legacy_run_id, tmp_path):
    # given a legacy file opened (migrated) once and closed (WAL checkpointed away)
    path = copy_legacy_db(legacy_run_id, tmp_path)
    StateStore.open(path).close()
    before = (sha256(path), schema_dump(path), rows_dump(path))

    # when it is opened again
    with StateStore.open(path) as store:
        assert store.migrated_from is None

    # then schema, rows and bytes are as they were
    assert (sha256(path), schema_dump(path), rows_dump(path)) == before
    assert side_files(path) == []


def test_migrated_file_has_the_same_schema_as_a_new_one(legacy_run_id, tmp_path):
    migrated = copy_legacy_db(legacy_run_id, tmp_path)
    StateStore.open(migrated).close()
    StateStore.create(tmp_path / "new" / "state.sqlite", new_run()).close()

    def shape(path):
        with read_closed(path) as connection:
            objects = connection.execute("SELECT type, name FROM sqlite_master ORDER BY name").fetchall()
            columns = {
                name: sorted((c[1], c[2], c[3]) for c in connection.execute(f"PRAGMA table_info({name})"))
                for kind, name in objects
                if kind == "table"
            }
        return objects, columns

    assert shape(migrated) == shape(tmp_path / "new" / "state.sqlite")


@pytest.mark.parametrize(
    ("run_id", "sabotage"),
    [
        # fails in v3 -> v4, after the operator-key backfill and the ALTERs
        ("20261124_142443_89d0213d", "CREATE TABLE task_dependencies (x)"),
        # fails in v1 -> v2, after tasks was rebuilt, when attempts are inserted
        ("20261124_142052_f5c6a49b", "CREATE TABLE task_attempts (x)"),
        # fails in v2 -> v3 while backfilling operator keys
        (
            "20261124_142216_9bef32b1",
            "CREATE TRIGGER sabotage BEFORE UPDATE OF operator_key ON task_attempts"
            " BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        ),
    ],
)
def test_failed_migration_leaves_the_file_as_it_was(run_id, sabotage, tmp_path):
    # given a legacy file with an object that makes one real migration step fail
    path = copy_legacy_db(run_id, tmp_path)
    with sqlite3.connect(path) as connection:
        connection.execute(sabotage)
    connection.close()
    before = sha256(path)

    # when it is opened
    with pytest.raises(StoreError) as error:
        StateStore.open(path)

    # then it is refused in one line and the file is byte-identical
    message = str(error.value)
    assert "\n" not in message and str(path) in message and "migration" in message
    assert sha256(path) == before
    assert side_files(path) == []
