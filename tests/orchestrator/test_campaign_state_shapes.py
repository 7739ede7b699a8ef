"""What ``analyze`` may return as the campaign's state, and what the next ``plan`` and
``analyze`` get: ``plan`` what ``analyze`` returned, the next ``analyze`` plain JSON values
read back from ``campaign_state.json``, as MatterStack 0.2.x handed them."""

from __future__ import annotations

import dataclasses
import json

import attrs
import pydantic
import pytest

from matterstack import Campaign, Task, Workflow
from matterstack.core.status import RunStatus


@dataclasses.dataclass
class Candidate:
    name: str
    energy: float


@dataclasses.dataclass
class DataclassState:
    iteration: int
    best: Candidate


@attrs.define
class AttrsState:
    iteration: int
    best: Candidate


class ModelState(pydantic.BaseModel):
    iteration: int
    best: dict


def dataclass_state(iteration):
    return DataclassState(iteration, Candidate("LFP", -3.25))


def attrs_state(iteration):
    return AttrsState(iteration, Candidate("LFP", -3.25))


def model_state(iteration):
    return ModelState(iteration=iteration, best={"name": "LFP", "energy": -3.25})


class TwoIterations(Campaign):
    """Two one-task iterations; ``make_state(iteration)`` is what analyze returns."""

    def __init__(self, make_state):
        self.make_state = make_state
        self.analyzed_states = []
        self.planned_states = []

    def plan(self, state):
        self.planned_states.append(state)
        if state is None:
            return Workflow([Task(task_id="first")])
        if state.iteration == 1:
            return Workflow([Task(task_id="second")])
        return None

    def analyze(self, state, results):
        self.analyzed_states.append(state)
        return self.make_state(1 if state is None else state["iteration"] + 1)


@pytest.mark.parametrize("make_state", [dataclass_state, attrs_state, model_state],
                         ids=["dataclass", "attrs", "pydantic"])
def test_state_objects_reach_plan_as_returned_and_the_next_analyze_as_plain_json(start_run, make_state):
    # given a campaign whose analyze returns a dataclass, attrs or pydantic instance
    campaign = TwoIterations(make_state)
    run = start_run(campaign)
    # when it runs to the end
    assert run.tick_until_done() == RunStatus.COMPLETED
    # then plan got each state as analyze returned it
    assert campaign.planned_states[1:] == [make_state(1), make_state(2)]
    # and the next analyze got the fields as plain JSON values, nested objects included
    assert campaign.analyzed_states == [None, {"iteration": 1, "best": {"name": "LFP", "energy": -3.25}}]
    saved = json.loads((run.handle.root_path / "campaign_state.json").read_text())
    assert saved == {"iteration": 2, "best": {"name": "LFP", "energy": -3.25}}


def test_a_pydantic_state_is_saved_as_the_model_writes_itself(start_run):
    # given a campaign whose state is a pydantic model (what 0.2.6 saved with model_dump_json)
    run = start_run(TwoIterations(model_state))
    # when it runs to the end
    run.tick_until_done()
    # then the file holds the model's own bytes: compact, field order, no newline
    text = (run.handle.root_path / "campaign_state.json").read_text()
    assert text == model_state(2).model_dump_json() == '{"iteration":2,"best":{"name":"LFP","energy":-3.25}}'
