"""A note that comes back is counted, not written again: ``explain`` shows it once, with how
many times and the last time, and the database keeps one row for it."""

from __future__ import annotations

from e2e_kit import TWO_TASKS, ok

DRY_RUN = """
operators:
  local.default: {kind: local, backend: {type: local, dry_run: true}}
"""


def test_a_note_that_comes_back_is_shown_once_by_explain_with_its_count_and_last_time(project):
    # given a run whose instance only records commands (each dry run leaves a run note)
    project.add_workspace("two", TWO_TASKS)
    (project.root / "operators.yaml").write_text(DRY_RUN)
    run_id = project.init("two", "--operators-config", "operators.yaml")
    project.step_until(run_id, lambda: project.run_status(run_id) == "COMPLETED")

    # when the same task is dry-run twice more
    for _ in range(2):
        ok(project.matterstack("rerun", run_id, "prepare", "--force"))
        project.step_until(run_id, lambda: project.run_status(run_id) == "COMPLETED")

    # then explain shows its note once, counted three times, and the database holds one row for it
    said = "prepare: dry run: would have run `echo prepared > prepared.txt` on local.default"
    notes = [line for line in ok(project.matterstack("explain", run_id)).stdout.splitlines() if said in line]
    assert len(notes) == 1 and "(3 times, the last at " in notes[0], notes
    with project.db(run_id) as db:
        texts = [row[0] for row in db.execute("SELECT text FROM run_notes")]
    assert len([text for text in texts if text.startswith(said)]) == 1
