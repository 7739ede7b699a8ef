"""Project-wide ``status``, ``status --json`` and ``monitor``: a run whose database cannot be
read (truncated, from a newer MatterStack) is listed as UNREADABLE with its reason, every
other run is shown, and the exit code is 0, as ``human list`` does (``loop``, which could not
step it, exits 2). The unreadable files are left as they were."""

from __future__ import annotations

import json
import sqlite3

import pytest

from e2e_kit import TWO_TASKS, ok, sha256


@pytest.fixture
def good_truncated_and_newer(project):
    """Three runs of one workspace: a readable one, a truncated one, one from a newer MatterStack."""
    project.add_workspace("two", TWO_TASKS)
    good, truncated, newer = (project.init("two") for _ in range(3))
    path = project.run_dir(truncated) / "state.sqlite"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    connection = sqlite3.connect(project.run_dir(newer) / "state.sqlite")
    with connection:
        connection.execute("UPDATE schema_info SET value = '99' WHERE key = 'version'")
    connection.close()
    hashes = {run_id: sha256(project.run_dir(run_id) / "state.sqlite") for run_id in (truncated, newer)}
    return good, truncated, newer, hashes


def assert_left_as_they_were(project, hashes):
    for run_id, digest in hashes.items():
        folder = project.run_dir(run_id)
        assert sha256(folder / "state.sqlite") == digest
        assert sorted(p.name for p in folder.iterdir()) == ["state.sqlite"]


def test_status_lists_an_unreadable_run_with_its_reason_and_shows_the_others(project, good_truncated_and_newer):
    good, truncated, newer, hashes = good_truncated_and_newer

    result = ok(project.matterstack("status"))

    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert lines[good].split()[1:] == ["PENDING", "two", "PENDING=2"]
    assert lines[truncated].split()[1] == "UNREADABLE" and "is truncated" in lines[truncated]
    assert lines[newer].split()[1] == "UNREADABLE" and "newer MatterStack (schema v99" in lines[newer]
    assert "fix: upgrade matterstack-core" in lines[newer] and result.stderr == ""
    assert_left_as_they_were(project, hashes)


def test_status_json_lists_an_unreadable_run_with_its_reason_and_shows_the_others(project, good_truncated_and_newer):
    good, truncated, newer, hashes = good_truncated_and_newer

    result = ok(project.matterstack("status", "--json"))

    rows = {row["run_id"]: row for row in json.loads(result.stdout)}
    assert rows[good]["status"] == "PENDING" and rows[good]["tasks"] == {"PENDING": 2}
    for run_id in (truncated, newer):
        assert rows[run_id]["status"] == "UNREADABLE" and rows[run_id]["tasks"] == {}
        assert str(project.run_dir(run_id) / "state.sqlite") in rows[run_id]["status_reason"]
        assert set(rows[run_id]) == set(rows[good])
    assert_left_as_they_were(project, hashes)


def test_monitor_lists_an_unreadable_run_with_its_reason_and_shows_the_others(project, good_truncated_and_newer):
    good, truncated, newer, hashes = good_truncated_and_newer

    result = ok(project.matterstack("monitor", "--once"))

    lines = {line.split()[1]: line for line in result.stdout.splitlines()}
    assert lines[good].startswith("PENDING ") and "0/2 tasks" in lines[good]
    assert lines[truncated].startswith("UNREADABLE ") and "is truncated" in lines[truncated]
    assert lines[newer].startswith("UNREADABLE ") and "schema v99" in lines[newer]
    assert_left_as_they_were(project, hashes)


def test_status_of_one_unreadable_run_is_still_an_error(project, good_truncated_and_newer):
    _, truncated, _, _ = good_truncated_and_newer

    result = project.matterstack("status", truncated)

    assert result.returncode == 2 and "is truncated" in result.stderr
