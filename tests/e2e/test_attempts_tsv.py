"""``matterstack attempts RUN TASK --format tsv`` prints MatterStack 0.2.x's tab-separated
columns for scripts, header first, for runs it wrote and for ours."""

from __future__ import annotations

import pytest

from e2e_kit import LEGACY_RUNS, TWO_TASKS, Project, assert_one_line_error, copy_writable, ok, read_db

V4_COMPLETED = "20261207_021432_90261834"
HEADER = "attempt_id\tattempt_index\tstatus\toperator_type\texternal_id\tartifact_path\tconfig_hash"


def as_0_2_printed_them(db_path, task_id: str) -> list[str]:
    """The lines 0.2.6's ``attempts`` printed, made from the rows its own database holds."""
    with read_db(db_path) as db:
        rows = db.execute(
            "SELECT attempt_id, attempt_index, status, COALESCE(operator_type, ''), COALESCE(external_id, ''),"
            " COALESCE(relative_path, ''), COALESCE(json_extract(operator_data, '$.config_hash'), '')"
            " FROM task_attempts WHERE task_id = ? ORDER BY attempt_index", (task_id,)).fetchall()
    return [HEADER, *("\t".join(str(value) for value in row) for row in rows)]


@pytest.mark.parametrize("task_id", ["thermal_sim", "cycling_protocol", "register_batch"])
def test_a_0_2_6_run_prints_the_lines_0_2_6_printed(tmp_path, installed_matterstack, task_id):
    # given a copy of a run 0.2.6 wrote, and what its own attempts command would print
    project = Project(tmp_path / "v4", installed_matterstack)
    copy_writable(LEGACY_RUNS / "v4", project.workspaces)
    expected = as_0_2_printed_them(project.run_dir(V4_COMPLETED) / "state.sqlite", task_id)

    # when
    result = ok(project.matterstack("attempts", V4_COMPLETED, task_id, "--format", "tsv"))

    # then
    assert result.stdout.splitlines() == expected
    assert result.stderr == ""


def test_attempts_made_here_show_their_operator_key_as_operator_type(project):
    project.add_workspace("two", TWO_TASKS)
    run_id = project.init("two")
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))
    (attempt,) = project.attempts(run_id, "prepare")

    result = ok(project.matterstack("attempts", run_id, "prepare", "--format", "tsv"))

    assert result.stdout.splitlines() == [
        HEADER,
        f"{attempt['attempt_id']}\t1\tCOMPLETED\tlocal.default\t{attempt['external_id']}\t{attempt['relative_path']}\t",
    ]


@pytest.mark.parametrize(("args", "words"), [
    (["prepare", "--format", "csv"], ["attempts --format", "'csv'", "text, json, tsv"]),
    (["prepare", "--format", "tsv", "--json"], ["--json and --format tsv"]),
    (["ghost", "--format", "tsv"], ["no task 'ghost'"]),
], ids=["unknown-format", "two-formats", "unknown-task"])
def test_bad_input_is_one_line(project, args, words):
    project.add_workspace("two", TWO_TASKS)
    run_id = project.init("two")

    assert_one_line_error(project.matterstack("attempts", run_id, *args), *words)


def test_format_json_is_the_same_as_json(project):
    project.add_workspace("two", TWO_TASKS)
    run_id = project.init("two")
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))

    as_format = ok(project.matterstack("attempts", run_id, "prepare", "--format", "json")).stdout
    as_flag = ok(project.matterstack("attempts", run_id, "prepare", "--json")).stdout

    assert as_format == as_flag
