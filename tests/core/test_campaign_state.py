"""``campaign_state_text``: plain JSON values, dataclass, attrs and pydantic states (nested
in one another too) are saved as JSON; anything else is one error naming the value's type,
where it is, and what to return instead. Core never imports pydantic."""

from __future__ import annotations

import dataclasses
import datetime
import json
import subprocess
import sys
from pathlib import Path

import attrs
import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matterstack.core.campaign_state import CampaignStateError, campaign_state_text

json_scalars = st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@dataclasses.dataclass
class Box:
    value: object


@attrs.frozen
class Crate:
    value: object


class Model(pydantic.BaseModel):
    value: object


@given(json_values)
def test_plain_json_values_come_back_as_they_were(value):
    assert json.loads(campaign_state_text(value)) == value


@given(json_values, st.sampled_from([Box, Crate]))
def test_a_dataclass_or_attrs_state_comes_back_as_the_object_of_its_fields(value, wrap):
    assert json.loads(campaign_state_text(wrap(value))) == {"value": value}


def test_objects_nested_in_one_another_come_back_as_nested_objects():
    state = {"runs": [Box(Crate(Model(value=[1, "a"])))]}
    assert json.loads(campaign_state_text(state)) == {"runs": [{"value": {"value": {"value": [1, "a"]}}}]}


unsaveable = st.sampled_from([{"t1"}, object(), datetime.date(2026, 1, 2), Path("/tmp"), b"bytes"])


@given(json_values, unsaveable, st.data())
def test_a_value_json_cannot_hold_is_named_with_its_type_and_where_it_is(value, culprit, data):
    # given a JSON tree with something JSON cannot hold put at a place drawn by hypothesis
    state, where = {"tree": value}, "['tree']"
    holder, key = state, "tree"
    while isinstance(holder[key], (list, dict)) and holder[key] and data.draw(st.booleans()):
        holder = holder[key]
        key = data.draw(st.sampled_from(sorted(holder) if isinstance(holder, dict) else range(len(holder))))
        where += f"[{key!r}]"
    holder[key] = culprit
    # when it is saved, the error is one line naming the type, the path and the fix
    try:
        campaign_state_text(state)
    except CampaignStateError as exc:
        message = exc.one_line()
    else:
        raise AssertionError("no error")
    name = type(culprit).__name__
    assert f"analyze() returned a dict whose {where} is a{'n' if name[0] in 'aeiou' else ''} {name}," in message
    assert "fix: return plain JSON values" in message and f"convert the {name} first" in message
    assert "\n" not in message


def test_an_unsaveable_value_inside_a_dataclass_is_named_by_its_field_path():
    message = _error(Box(Crate({"when": datetime.date(2026, 1, 2)})))
    assert message.startswith("analyze() returned a Box whose .value.value['when'] is a date,")


def test_a_state_holding_itself_is_named():
    loop = {"a": []}
    loop["a"].append(loop)
    assert _error(loop).startswith("analyze() returned a dict holding itself at ['a'][0] (fix:")


def test_a_dict_key_json_cannot_hold_is_named():
    assert _error({"pairs": {(1, 2): 3}}).startswith(
        "analyze() returned a dict whose key ['pairs'][(1, 2)] is a tuple, which campaign_state.json cannot hold")


def test_a_model_pydantic_cannot_dump_is_named_with_pydantics_words():
    message = _error(Model(value=object()))
    assert message.startswith("analyze() returned a Model that pydantic cannot write as JSON (")
    assert "fix: give the model only fields JSON can hold" in message


def test_core_and_the_tick_load_without_importing_pydantic():
    # given a fresh interpreter; when core's state module and the tick are imported
    script = ("import sys, matterstack.core.campaign_state, matterstack.orchestrator.tick; "
              "print('pydantic' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    # then pydantic was not imported
    assert result.stdout.strip() == "False"


def _error(state) -> str:
    try:
        campaign_state_text(state)
    except CampaignStateError as exc:
        return exc.one_line()
    raise AssertionError("no error")


@given(json_values, st.sampled_from([float("nan"), float("inf"), float("-inf")]))
def test_a_state_holding_nan_or_infinity_is_refused_naming_the_number(value, number):
    with pytest.raises(CampaignStateError, match="which JSON cannot hold .*JSON has no NaN or Infinity"):
        campaign_state_text({"kept": value, "score": number})
