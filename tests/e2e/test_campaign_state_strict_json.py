"""``campaign_state.json`` is strict JSON (issue 16, "Also"): a state holding NaN or Infinity,
which Python's json would write as bare ``NaN`` that other readers refuse, is refused with the
value named, and the file keeps the last state it could hold."""

from __future__ import annotations

import json

import pytest

from e2e_kit import ok

NAN_STATE = """
    from matterstack import Campaign, Task, Workflow

    class NanState(Campaign):
        def plan(self, state):
            if state is not None:
                return None
            return Workflow([Task(task_id="score", command="true")])

        def analyze(self, state, results):
            return {"scores": {"score": float("{value}")}}

    def get_campaign():
        return NanState()
"""


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_state_holding_nan_or_infinity_is_refused_naming_it_and_never_written(project, value):
    # given a campaign whose analyze returns a score of NaN or Infinity
    project.add_workspace("nan", NAN_STATE.replace("{value}", value))
    run_id = project.init("nan")

    # when the run is looped to its end
    result = project.matterstack("loop", run_id, "--interval", "0.05", "--max-ticks", "50")

    # then it is FAILED, saying which value JSON cannot hold, and no bare NaN was written
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"whose ['scores']['score'] is {value}, which JSON cannot hold" in result.stdout
    assert "JSON has no NaN or Infinity" in result.stdout
    state_file = project.run_dir(run_id) / "campaign_state.json"
    if state_file.exists():
        json.loads(state_file.read_text(), parse_constant=lambda name: pytest.fail(f"{name} in the file"))
    ok(project.matterstack("status", run_id))
