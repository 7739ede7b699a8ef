"""Workspaces and task rows written for MatterStack 0.2.x still load.

Uses the real fixtures under ``tests/fixtures/legacy-runs`` (read only): each ``main.py`` is
imported as a workspace would be, and every ``tasks``/``task_attempts``/``runs`` row of every
legacy ``state.sqlite`` is read through the converter.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from pathlib import Path

import pytest

from matterstack.core.convert import (
    attempt_from_record,
    attempt_to_record,
    run_from_record,
    task_from_record,
    task_to_record,
)
from matterstack.core.external import ExternalTask
from matterstack.core.operator_key import resolve_attempt_operator_key
from matterstack.core.workflow import FileFromContent, FileFromPath, Workflow

LEGACY_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy-runs"
MAIN_FILES = sorted(LEGACY_FIXTURES.glob("v*/*/main.py"))
DATABASES = sorted(LEGACY_FIXTURES.glob("v*/*/runs/*/state.sqlite"))


def load_campaign(main_py: Path):
    name = f"legacy_workspace_{main_py.parent.parent.name}_{main_py.parent.name}"
    spec = importlib.util.spec_from_file_location(name, main_py)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_campaign()


def rows(database: Path, table: str) -> list[dict]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    try:
        tables = {row[0] for row in connection.execute("select name from sqlite_master where type='table'")}
        if table not in tables:
            return []
        return [dict(row) for row in connection.execute(f"select * from {table} order by rowid")]
    finally:
        connection.close()


SECOND_ITERATION_STATE = {"iteration": 1, "review": {"request_external_check": True, "approve_validation": True}}
"""A state after the first iteration that makes every campaign plan its whole second one."""


def test_the_legacy_fixtures_are_present():
    assert [path.relative_to(LEGACY_FIXTURES).parts[0] for path in MAIN_FILES] == ["v1", "v2", "v3", "v4"]
    assert len(DATABASES) == 8


@pytest.mark.parametrize("main_py", MAIN_FILES, ids=lambda path: path.parts[-3])
def test_each_legacy_campaign_plans_both_iterations_and_then_ends(main_py):
    # given a 0.2.x workspace
    campaign = load_campaign(main_py)
    # when planning as the orchestrator would
    first = campaign.plan(None)
    second = campaign.plan(SECOND_ITERATION_STATE)
    # then both iterations are valid workflows and the third plan ends the run
    assert isinstance(first, Workflow) and isinstance(second, Workflow)
    first.validate()
    second.validate(known_task_ids=[task.task_id for task in first])
    assert campaign.plan({"iteration": 2}) is None


@pytest.mark.parametrize("main_py", MAIN_FILES, ids=lambda path: path.parts[-3])
def test_planned_tasks_match_what_0_2_x_stored(main_py):
    # given the tasks a legacy campaign plans now and the rows the original stored
    campaign = load_campaign(main_py)
    first = campaign.plan(None)
    planned = {task.task_id: task for task in [*first, *campaign.plan(SECOND_ITERATION_STATE)]}
    for database in (main_py.parent / "runs").glob("*/state.sqlite"):
        for row in rows(database, "tasks"):
            task = planned[row["task_id"]]
            record = task_to_record(task)
            # then every column but path-valued files (absolute paths of another machine) agrees
            for column in ("image", "command", "env", "task_type"):
                stored = json.loads(row[column]) if column == "env" else row[column]
                assert record[column] == stored, (row["task_id"], column)
            assert set(record["dependencies"]) == set(json.loads(row["dependencies"]))
            assert record["allow_failure"] == bool(row["allow_failure"])
            if "download_patterns" in row:
                assert record["download_patterns"] == json.loads(row["download_patterns"])
            inline = {name: value for name, value in task.files.items() if isinstance(value, str)}
            assert inline.items() <= json.loads(row["files"]).items()


def test_explicit_file_types_of_the_legacy_campaigns_are_kept():
    v2 = {task.task_id: task for task in load_campaign(LEGACY_FIXTURES / "v2/catalyst_loop/main.py").plan(None)}
    v3 = {task.task_id: task for task in load_campaign(LEGACY_FIXTURES / "v3/polymer_dft/main.py").plan(None)}
    assert v2["gen_candidates"].files["notes.txt"] == FileFromContent("explicit content file\n")
    assert isinstance(v2["gen_candidates"].files["seed_slabs.txt"], FileFromPath)
    assert v3["build_chains"].files["monomers_copy.csv"] == FileFromPath(
        LEGACY_FIXTURES / "v3/polymer_dft/data/monomers.csv"
    )


@pytest.mark.parametrize("database", DATABASES, ids=lambda path: path.parts[-3])
def test_every_legacy_task_row_reads_back_and_records_the_same(database):
    for row in rows(database, "tasks"):
        # when a 0.2.x row is read and written again
        task = task_from_record(row)
        record = task_to_record(task)
        # then nothing stored is lost (explicit files are now tagged instead of repr'd)
        assert type(task).task_type == row["task_type"]
        assert record["command"] == row["command"]
        assert record["env"] == json.loads(row["env"])
        assert record["download_patterns"] == json.loads(row.get("download_patterns") or "null")
        assert task_from_record(json.loads(json.dumps(record))) == task


def test_the_legacy_external_task_row_gives_back_its_request():
    database = LEGACY_FIXTURES / "v3/polymer_dft/runs/20261124_142443_89d0213d/state.sqlite"
    row = next(row for row in rows(database, "tasks") if row["task_id"] == "external_qc")
    task = task_from_record(row)
    assert isinstance(task, ExternalTask)
    assert task.request_data == {"check": "GPC molecular weight", "samples": ["PE-20", "PS-20"]}
    assert task.command == row["command"]


@pytest.mark.parametrize("database", DATABASES, ids=lambda path: path.parts[-3])
def test_every_legacy_run_and_attempt_row_reads_with_utc_times(database):
    run_row = rows(database, "runs")[0]
    run = run_from_record(run_row)
    assert run.created_at.utcoffset().total_seconds() == 0
    assert run.created_at.strftime("%Y-%m-%d %H:%M:%S.%f") == run_row["created_at"]
    for row in rows(database, "task_attempts"):
        attempt = attempt_from_record(row)
        assert attempt_from_record(attempt_to_record(attempt)) == attempt
        resolved = resolve_attempt_operator_key(row.get("operator_key"), attempt.operator_data, row["operator_type"])
        if row["operator_type"] == "stub":
            assert resolved.key is None
        else:
            assert resolved.key is not None


def test_the_v2_upgraded_attempt_without_a_key_resolves_from_its_legacy_type():
    database = LEGACY_FIXTURES / "v3/polymer_dft/runs/20261124_142415_359cfb40/state.sqlite"
    row = next(row for row in rows(database, "task_attempts") if row["task_id"] == "build_chains")
    assert row["operator_key"] is None
    resolved = resolve_attempt_operator_key(row["operator_key"], json.loads(row["operator_data"]), row["operator_type"])
    assert (resolved.key, resolved.source) == ("hpc.default", "operator_type")
