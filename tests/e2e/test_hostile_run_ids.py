"""``init --run-id`` with an id that is not one folder name: one line, exit 2, nothing made."""

from __future__ import annotations

import pytest

from e2e_kit import TWO_TASKS, assert_one_line_error, hash_tree, ok

HOSTILE_RUN_IDS = ["../..", "../../../escaped", "/abs", "a/b", "x\ny", "..", ".", ""]


@pytest.mark.parametrize("run_id", HOSTILE_RUN_IDS)
def test_init_refuses_a_run_id_that_is_not_one_folder_name_and_creates_nothing(project, run_id, tmp_path):
    # given a project with a workspace
    project.add_workspace("two", TWO_TASKS)
    before = hash_tree(tmp_path)

    # when
    result = project.matterstack("init", "two", "--run-id", run_id)

    # then
    assert_one_line_error(result, "--run-id: run id", repr(run_id), "fix: use letters, digits")
    assert hash_tree(tmp_path) == before
    assert not (tmp_path.parent / "abs").exists()


def test_init_accepts_a_run_id_that_is_one_folder_name(project):
    project.add_workspace("two", TWO_TASKS)

    result = ok(project.matterstack("init", "two", "--run-id", "screening-2026.v2 (Ada)"))

    assert (project.workspaces / "two" / "runs" / "screening-2026.v2 (Ada)" / "state.sqlite").is_file()
    assert result.stdout.startswith("Run screening-2026.v2 (Ada) created in ")
