"""The legacy DDL in ``schema`` is exactly what 0.2.x wrote, and each step works on such files."""

from __future__ import annotations

import json
import sqlite3

import pytest
from store_helpers import LEGACY_ROOT, copy_legacy_db, expected_for

from matterstack.core.workflow import Task
from matterstack.store import StateStore, schema
from matterstack.store.migrate import STEPS, legacy_attempt_id

CREATED_AT = {
    1: ["20261124_142052_f5c6a49b", "20261124_142113_28d86a26"],
    2: ["20261124_142216_9bef32b1", "20261124_142245_e5542ff0"],
    3: ["20261124_142443_89d0213d"],
    4: ["20261207_021432_90261834", "20261207_021509_d1bee641"],
}


def statements(connection: sqlite3.Connection) -> list[str]:
    return sorted(row[0] for row in connection.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))


def legacy_connection(run_id: str) -> sqlite3.Connection:
    path = LEGACY_ROOT / expected_for(run_id)["fixture"] / "state.sqlite"
    return sqlite3.connect(f"file:{path}?immutable=1", uri=True)


@pytest.mark.parametrize(("version", "run_id"), [(v, r) for v, runs in CREATED_AT.items() for r in runs])
def test_legacy_ddl_is_what_the_original_wrote(version, run_id):
    built = sqlite3.connect(":memory:")
    for statement in schema.ORIGINAL_DDL[version]:
        built.execute(statement)

    assert statements(built) == statements(legacy_connection(run_id))


def test_v2_to_v3_step_appends_operator_key_like_0_2_7_did():
    built = sqlite3.connect(":memory:")
    for statement in schema.V2:
        built.execute(statement)

    STEPS[2](built)

    assert statements(built) == statements(legacy_connection("20261124_142415_359cfb40"))


def build_v1(connection: sqlite3.Connection, *, with_download_patterns: bool) -> None:
    for statement in schema.V1:
        connection.execute(statement)
    if with_download_patterns:
        connection.execute("ALTER TABLE tasks ADD COLUMN download_patterns JSON")
    connection.execute("INSERT INTO schema_info VALUES ('version', '1')")
    connection.execute(
        "INSERT INTO runs VALUES ('r1', 'ws', 'workspaces/ws/runs/r1', '2026-01-02 03:04:05.000006',"
        " 'RUNNING', NULL, '{}', NULL)"
    )
    for task_id, deps in (("a", []), ("b", ["a"])):
        connection.execute(
            "INSERT INTO tasks (task_id, run_id, image, command, files, env, dependencies, cores, memory_gb,"
            " gpus, time_limit_minutes, allow_dependency_failure, allow_failure, status, task_type)"
            " VALUES (?, 'r1', '', 'true', '{}', '{}', ?, 1, 1, 0, 60, 0, 0, ?, 'Task')",
            (task_id, json.dumps(deps), "COMPLETED" if task_id == "a" else "PENDING"),
        )
    if with_download_patterns:
        connection.execute("""UPDATE tasks SET download_patterns = '{"include": ["*.out"]}' WHERE task_id = 'a'""")
    connection.execute(
        "INSERT INTO external_runs VALUES ('a', 'r1', 'Local', 'a', 'COMPLETED', '{}', 'operators/hpc/x')"
    )


def test_v1_to_v2_step_is_idempotent():
    connection = sqlite3.connect(":memory:")
    build_v1(connection, with_download_patterns=False)

    STEPS[1](connection)
    once = {t: sorted(connection.execute(f"SELECT * FROM {t}")) for t in ("tasks", "task_attempts")}
    STEPS[1](connection)
    twice = {t: sorted(connection.execute(f"SELECT * FROM {t}")) for t in ("tasks", "task_attempts")}

    assert once == twice
    assert [row[0] for row in connection.execute("SELECT attempt_id FROM task_attempts")] == [
        legacy_attempt_id("r1", "a")
    ]


def test_later_v1_file_that_has_download_patterns_keeps_them(tmp_path):
    # given a "schema 1" file written after download_patterns joined the model
    path = tmp_path / "r1" / "state.sqlite"
    path.parent.mkdir()
    connection = sqlite3.connect(path)
    with connection:
        build_v1(connection, with_download_patterns=True)
    connection.close()

    with StateStore.open(path) as store:
        a, b = store.get_task("a"), store.get_task("b")
        (attempt,) = store.attempts_for_task("a")
        ready = [t.task_id for t in store.ready_tasks()]

    assert a.download_patterns == {"include": ["*.out"]} and b.download_patterns is None
    assert attempt.operator_key == "local.default" and attempt.attempt_index == 1
    assert ready == ["b"]


def test_migrated_v1_run_accepts_tasks_without_resources(tmp_path):
    path = copy_legacy_db("20261124_142113_28d86a26", tmp_path)

    with StateStore.open(path) as store:
        store.add_tasks([Task(task_id="extra", dependencies={"fit_eos"})])
        extra = store.get_task("extra")

    assert extra.cores is None and extra.memory_gb is None
