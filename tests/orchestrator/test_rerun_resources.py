"""``rerun`` with new resources through the public API (``rerun_task``), on runs whose tasks
really run as local processes: the new attempt is submitted with them, the change is kept,
earlier attempts stay as they were, and bad values change nothing."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
from lifecycle_kit import Campaignish

from matterstack import Task
from matterstack.core.status import RunStatus
from matterstack.errors import ConfigError
from matterstack.orchestrator import control
from matterstack.orchestrator.api import rerun_task, step_once
from matterstack.orchestrator.evidence import export_evidence
from matterstack.store import StateStore
from matterstack.store.resources import attempt_resources, task_resource_changes


def manifest_task(run, task_id: str, index: int) -> dict:
    return json.loads((run.attempt_dir(task_id, index) / "manifest.json").read_text())["task"]


def tick_with(run, store, until, timeout: float = 30):
    """Tick with one store kept open between ticks, as ``loop`` does, until ``until(report)``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = step_once(run.handle, run.campaign, run.registry, store)
        if until(report):
            return report
        time.sleep(0.05)
    raise AssertionError(f"not reached in {timeout} s: {run.statuses()}")


def dump(run) -> str:
    connection = sqlite3.connect(run.handle.db_path)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


@pytest.fixture
def failed_once(start_run, bare_host, tmp_path):
    """A run of ``relax`` (1 minute, 1 core; fails until the file ``go`` exists) and
    ``report`` after it, ticked to FAILED with one store kept open, as ``loop`` keeps it."""
    go = tmp_path / "go"
    campaign = Campaignish([
        Task(task_id="relax", time_limit_minutes=1, cores=1, env={"GO": str(go)},
             command='test -e "$GO" || exit 3; echo done > out.txt'),
        Task(task_id="report", time_limit_minutes=2, command="echo report > report.txt", dependencies={"relax"}),
    ])
    run = start_run(campaign, "local.default", host_=bare_host)
    store = StateStore.open(run.handle.db_path)
    tick_with(run, store, lambda report: report.status == RunStatus.FAILED)
    yield run, store, go
    store.close()


def test_a_rerun_with_new_resources_submits_attempt_two_with_them_and_keeps_attempt_one(failed_once, tmp_path):
    run, store, go = failed_once
    first_dir = run.attempt_dir("relax", 0)
    before = {p: p.read_bytes() for p in sorted(first_dir.rglob("*")) if p.is_file()}
    go.touch()

    result = rerun_task(run.handle, "relax", recursive=True, time_limit_minutes=5, cores=2, registry=run.registry)
    tick_with(run, store, lambda report: report.status.is_terminal)

    first, second = run.attempts("relax")
    with run.store() as reader:
        changes = task_resource_changes(reader, "relax")
        shown = attempt_resources(reader.get_task("relax"), [first, second], changes)
        notes = [n.text for n in reader.run_notes()]
        events = [e.reason for e in reader.task_events("relax")]
        report_task = reader.get_task("report")
    assert "resources of relax: time_limit_minutes 1 → 5, cores 1 → 2" in result.messages
    assert run.run().status == RunStatus.COMPLETED and second.status.value == "COMPLETED"
    assert (manifest_task(run, "relax", 0)["time_limit_minutes"], manifest_task(run, "relax", 0)["cores"]) == (1, 1)
    assert (manifest_task(run, "relax", 1)["time_limit_minutes"], manifest_task(run, "relax", 1)["cores"]) == (5, 2)
    assert {p: p.read_bytes() for p in sorted(first_dir.rglob("*")) if p.is_file()} == before
    assert [c.changes for c in changes] == [{"time_limit_minutes": (1, 5), "cores": (1, 2)}]
    assert shown[first.attempt_id] == {"resources": {"time_limit_minutes": 1, "cores": 1, "memory_gb": None, "gpus": None},
                                       "resource_changes": []}
    assert shown[second.attempt_id]["resources"] == {"time_limit_minutes": 5, "cores": 2, "memory_gb": None, "gpus": None}
    assert shown[second.attempt_id]["resource_changes"][0]["changes"] == {"time_limit_minutes": [1, 5], "cores": [1, 2]}
    assert "rerun of relax: time_limit_minutes 1 → 5, cores 1 → 2" in notes
    assert events[-1] == "rerun requested by user with time_limit_minutes 1 → 5, cores 1 → 2"
    assert (report_task.time_limit_minutes, report_task.cores) == (2, None)
    assert manifest_task(run, "report", -1)["time_limit_minutes"] == 2


def test_the_evidence_bundle_shows_each_attempts_resources_and_the_changes(failed_once):
    run, store, go = failed_once
    go.touch()
    rerun_task(run.handle, "relax", time_limit_minutes=5, cores=2, registry=run.registry)
    tick_with(run, store, lambda report: report.status.is_terminal)
    with run.store() as reader:
        report = export_evidence(run.handle, reader)
    bundle = json.loads((report.parent / "bundle.json").read_text())
    relax = next(task for task in bundle["tasks"] if task["task_id"] == "relax")
    # each attempt carries what it was submitted with, the second also what changed since
    first, second = relax["attempts"]
    assert (first["resources"]["time_limit_minutes"], first["resources"]["cores"], first["resource_changes"]) == (1, 1, [])
    assert (second["resources"]["time_limit_minutes"], second["resources"]["cores"]) == (5, 2)
    assert second["resource_changes"][0]["changes"] == {"time_limit_minutes": [1, 5], "cores": [1, 2]}
    # and the task lists its changes, which the report repeats for a person
    assert [c["summary"] for c in relax["resource_changes"]] == ["time_limit_minutes 1 → 5, cores 1 → 2"]
    at = relax["resource_changes"][0]["at"]
    assert f"- relax, {at}: time_limit_minutes 1 → 5, cores 1 → 2" in report.read_text().splitlines()


@pytest.mark.parametrize("resources, words", [
    ({"time_limit_minutes": 0}, "time_limit_minutes must be a whole number of minutes >= 1, got 0"),
    ({"time_limit_minutes": -5}, "got -5"),
    ({"time_limit_minutes": "abc"}, "got 'abc'"),
    ({"time_limit_minutes": 2.5}, "got 2.5"),
    ({"cores": 0}, "cores must be a whole number of cores >= 1"),
    ({"memory_gb": True}, "memory_gb must be a whole number of GB >= 1"),
    ({"gpus": -1}, "gpus must be a whole number of GPUs >= 0"),
])
def test_bad_resource_values_are_refused_and_change_nothing(failed_once, resources, words):
    run, _, _ = failed_once
    before = dump(run)

    with pytest.raises(ConfigError) as refused:
        rerun_task(run.handle, "relax", registry=run.registry, **resources)

    assert words in refused.value.one_line() and "--" in refused.value.one_line()
    assert dump(run) == before


def test_a_rerun_giving_the_resources_already_in_force_records_no_change(failed_once):
    run, _, _ = failed_once

    result = rerun_task(run.handle, "relax", time_limit_minutes=1, gpus=None, registry=run.registry)

    with run.store() as reader:
        assert task_resource_changes(reader) == []
    assert "resources of relax: unchanged" in result.messages
    assert run.statuses()["relax"] == "PENDING"


def test_a_forced_rerun_with_new_resources_stops_the_running_attempt_and_starts_one_with_them(start_run, bare_host):
    run = start_run(Campaignish([Task(task_id="long", time_limit_minutes=1, command="sleep 60")]),
                    "local.default", host_=bare_host)
    run.tick()

    result = rerun_task(run.handle, "long", force=True, time_limit_minutes=3, registry=run.registry)
    run.tick()

    first, second = run.attempts("long")
    assert first.status.value == "CANCELLED" and second.status.value in ("SUBMITTED", "RUNNING")
    assert "resources of long: time_limit_minutes 1 → 3" in result.messages
    assert manifest_task(run, "long", 0)["time_limit_minutes"] == 1
    assert manifest_task(run, "long", 1)["time_limit_minutes"] == 3
    control.cancel(run.handle, run.registry)  # stop attempt 2's sleep
