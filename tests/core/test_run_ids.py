"""Run ids name a folder under ``runs/``: whatever text is given, an accepted id stays one
folder inside ``runs/``, and a refused one says why in one line."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from matterstack.core.run_id import MAX_RUN_ID_BYTES, check_run_id, run_id_problem
from matterstack.errors import ConfigError

HOSTILE = ["../..", "..", ".", "", "/abs", "/abs/x", "a/b", "a\\b", "x\ny", "tab\there", "nul\x00", "é" * 128]


@given(st.text())
@example("../..")
@example("/abs/state")
@example("a/b")
@example("x\ny")
@example(".")
@example("")
def test_an_accepted_run_id_is_exactly_one_folder_inside_runs(run_id):
    runs = PurePosixPath("/project/workspaces/demo/runs")

    if run_id_problem(run_id) is None:
        folder = runs / run_id
        assert folder.parent == runs and folder.name == run_id
        assert "\n" not in run_id and len(run_id.encode()) <= MAX_RUN_ID_BYTES


FOLDER_NAME_TEXT = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/\\"), min_size=1, max_size=60
).filter(lambda text: text not in (".", ".."))


@given(FOLDER_NAME_TEXT)
def test_a_run_id_without_separators_or_control_characters_is_accepted(run_id):
    assert check_run_id(run_id) == run_id


@pytest.mark.parametrize("run_id", HOSTILE)
def test_a_hostile_run_id_is_refused_in_one_line_naming_the_option(run_id):
    with pytest.raises(ConfigError) as refused:
        check_run_id(run_id, where="--run-id")

    line = refused.value.one_line()
    assert line.startswith(f"--run-id: run id {run_id!r} ") and "\n" not in line
    assert "fix: use letters, digits" in line
