"""``matterstack cleanup-orphans --run-id RUN [--timeout 1h] [--confirm]``, MatterStack 0.2.x's
command: attempts left CREATED with no external id (as a crash between recording an attempt and
submitting it leaves them) are listed, and with --confirm marked FAILED_INIT."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from e2e_kit import TWO_TASKS, assert_one_line_error, ok, row_counts

from matterstack.core.records import Attempt
from matterstack.store import StateStore


def leave_created_attempt(project, run_id: str, task_id: str, age: timedelta) -> Attempt:
    """Record a CREATED attempt ``age`` old that was never submitted, as a crashed tick leaves it."""
    attempt_id = f"orphan_{task_id}"
    attempt = Attempt(attempt_id=attempt_id, task_id=task_id, run_id=run_id, attempt_index=1,
                      operator_key="local.default", relative_path=f"tasks/{task_id}/attempts/{attempt_id}",
                      created_at=datetime.now(timezone.utc) - age)
    with StateStore.open(project.run_dir(run_id) / "state.sqlite") as store:
        store.add_attempts([attempt])
    return attempt


@pytest.fixture
def orphaned(project):
    """A run whose ``prepare`` has an attempt left CREATED 2 hours ago."""
    project.add_workspace("two", TWO_TASKS)
    run_id = project.init("two")
    attempt = leave_created_attempt(project, run_id, "prepare", timedelta(hours=2, minutes=5))
    return project, run_id, attempt


def test_without_confirm_the_orphans_are_listed_and_nothing_changes(orphaned):
    project, run_id, attempt = orphaned
    db = project.run_dir(run_id) / "state.sqlite"
    before = row_counts(db)

    result = ok(project.matterstack("cleanup-orphans", "--run-id", run_id))

    created = attempt.created_at.replace(tzinfo=None)
    assert result.stdout == (
        "Found 1 orphaned attempt(s):\n"
        f"  - {attempt.attempt_id} (task: prepare)\n"
        f"      Created: {created} UTC\n"
        "      Age: 2h 5m\n"
        "      Reason: No external_id, CREATED > 1h\n"
        "\nRun with --confirm to mark these as FAILED_INIT.\n"
    )
    assert row_counts(db) == before
    assert project.attempts(run_id, "prepare")[0]["status"] == "CREATED"


def test_confirm_marks_them_failed_init_with_an_event_and_rerun_runs_the_task_again(orphaned):
    # given
    project, run_id, attempt = orphaned

    # when
    result = ok(project.matterstack("cleanup-orphans", "--run-id", run_id, "--timeout", "90m", "--confirm"))

    # then the attempt is FAILED_INIT with 0.2.x's reason, recorded as an event, its task FAILED
    assert "\nMarked 1 attempt(s) as FAILED_INIT.\n" in result.stdout
    assert f"`matterstack rerun {run_id} TASK --force` runs one again (prepare)" in result.stdout
    (row,) = project.attempts(run_id, "prepare")
    assert (row["status"], row["status_reason"]) == ("FAILED_INIT", "Orphan cleanup: stuck in CREATED for > 90m")
    with project.db(run_id) as db:
        events = db.execute("SELECT from_status, to_status FROM attempt_events WHERE attempt_id = ?",
                            (attempt.attempt_id,)).fetchall()
        assert db.execute("SELECT status FROM tasks WHERE task_id = 'prepare'").fetchone()[0] == "FAILED"
    assert [tuple(e) for e in events][-1] == ("CREATED", "FAILED_INIT")

    # when the task is rerun and the run looped, it completes with a second attempt
    ok(project.matterstack("rerun", run_id, "prepare", "--force"))
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))
    assert [a["status"] for a in project.attempts(run_id, "prepare")] == ["FAILED_INIT", "COMPLETED"]
    assert project.run_status(run_id) == "COMPLETED"


def test_an_attempt_younger_than_the_timeout_is_not_an_orphan(project):
    project.add_workspace("two", TWO_TASKS)
    run_id = project.init("two")
    leave_created_attempt(project, run_id, "prepare", timedelta(minutes=10))

    default = ok(project.matterstack("cleanup-orphans", "--run-id", run_id, "--confirm"))
    shorter = ok(project.matterstack("cleanup-orphans", "--run-id", run_id, "--timeout", "300s"))

    assert default.stdout == f"No orphaned attempts found in run {run_id}.\n"
    assert "Found 1 orphaned attempt(s):" in shorter.stdout and "Age: 10m" in shorter.stdout
    assert project.attempts(run_id, "prepare")[0]["status"] == "CREATED"


def test_submitted_and_finished_attempts_are_never_orphans(project):
    project.add_workspace("two", TWO_TASKS)
    run_id = project.init("two")
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))

    result = ok(project.matterstack("cleanup-orphans", "--run-id", run_id, "--timeout", "0", "--confirm"))

    assert result.stdout == f"No orphaned attempts found in run {run_id}.\n"


@pytest.mark.parametrize(("args", "words"), [
    (["--timeout", "1d"], ["cleanup-orphans --timeout", "'1d'", "1h, 30m, 3600s or 3600"]),
    (["--timeout", "-5m"], ["cleanup-orphans --timeout", "'-5m'"]),
    ([], ["cleanup-orphans", "--run-id RUN"]),
], ids=["unit", "negative", "no-run-id"])
def test_bad_input_is_one_line_and_changes_nothing(orphaned, args, words):
    project, run_id, _ = orphaned
    db = project.run_dir(run_id) / "state.sqlite"
    before = row_counts(db)
    run_args = ["--run-id", run_id] if args else []

    result = project.matterstack("cleanup-orphans", *run_args, *args, "--confirm")

    assert_one_line_error(result, *words)
    assert row_counts(db) == before
