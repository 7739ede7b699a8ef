"""Operator keys: strict parsing, lenient normalising, and both routing precedences."""

from __future__ import annotations

import pytest
from core_strategies import canonical_keys
from hypothesis import given
from hypothesis import strategies as st

from matterstack.core.external import ExternalTask
from matterstack.core.gate import GateTask
from matterstack.core.operator_key import (
    LEGACY_OPERATOR_TYPES,
    OperatorKey,
    ResolvedOperatorKey,
    RoutedOperatorKey,
    normalize_operator_key,
    parse_operator_key,
    resolve_attempt_operator_key,
    route_new_task,
)
from matterstack.core.workflow import Task
from matterstack.errors import ConfigError

# --- parse: strict -------------------------------------------------------------------------


@given(canonical_keys)
def test_every_accepted_key_round_trips_parse_str_parse(text):
    # given a canonical key / when parsed, printed and parsed again
    key = parse_operator_key(text)
    # then nothing changes
    assert str(key) == text
    assert parse_operator_key(str(key)) == key


def test_key_is_split_at_the_first_dot():
    key = parse_operator_key("hpc.cluster-a.gpu")
    assert (key.kind, key.name) == ("hpc", "cluster-a.gpu")


@given(st.text())
def test_anything_that_parses_is_canonical(text):
    try:
        key = parse_operator_key(text)
    except ConfigError:
        return
    assert str(key) == text
    assert "." in text and ".." not in text
    assert text == text.lower()
    assert not any(char.isspace() for char in text)


@given(canonical_keys, st.sampled_from(" \t\n\u00a0"), st.data())
def test_no_key_with_whitespace_anywhere_passes(text, space, data):
    position = data.draw(st.integers(min_value=0, max_value=len(text)))
    with pytest.raises(ConfigError, match="whitespace"):
        parse_operator_key(text[:position] + space + text[position:])


@given(canonical_keys, st.data())
def test_no_key_with_upper_case_passes(text, data):
    letters = [index for index, char in enumerate(text) if char.isalpha()]
    index = data.draw(st.sampled_from(letters))
    with pytest.raises(ConfigError, match="upper case"):
        parse_operator_key(text[:index] + text[index].upper() + text[index + 1 :])


@given(canonical_keys, st.data())
def test_no_key_with_an_empty_part_passes(text, data):
    dots = [index for index, char in enumerate(text) if char == "."]
    index = data.draw(st.sampled_from(dots))
    with pytest.raises(ConfigError, match=r"'\.\.'"):
        parse_operator_key(text[:index] + "." + text[index:])


@given(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True))
def test_no_key_without_a_dot_passes(text):
    with pytest.raises(ConfigError, match="no dot"):
        parse_operator_key(text)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "empty"),
        (" hpc.default", "leading or trailing whitespace"),
        ("hpc.default ", "leading or trailing whitespace"),
        ("hpc. default", "whitespace"),
        ("Hpc.default", "upper case"),
        ("hpc", "no dot"),
        ("hpc..dev", r"'\.\.'"),
        (".default", "empty kind"),
        ("hpc.", "empty name"),
        ("hpc.dev.", "empty name"),
        ("1hpc.default", "kind '1hpc'"),
        ("h-pc.default", "kind 'h-pc'"),
        ("hpc.-dev", "name part '-dev'"),
        ("hpc.dev/x", "name part 'dev/x'"),
    ],
)
def test_a_rejected_key_names_the_rule_and_shows_a_valid_key(text, rule):
    with pytest.raises(ConfigError, match=rule) as caught:
        parse_operator_key(text)
    assert "hpc.default" in str(caught.value)


def test_parse_error_names_where_the_key_came_from():
    with pytest.raises(ConfigError) as caught:
        parse_operator_key("HPC", where="operators.yaml: operators")
    assert str(caught.value).startswith("operators.yaml: operators: ")


def test_operator_key_parts_are_validated_on_construction():
    with pytest.raises(ConfigError):
        OperatorKey("hpc.x", "default")
    with pytest.raises(ConfigError):
        OperatorKey("HPC", "default")
    assert str(OperatorKey("hpc", "cluster-a.gpu")) == "hpc.cluster-a.gpu"


# --- normalise: lenient ---------------------------------------------------------------------


@given(st.text())
def test_normalise_is_idempotent(text):
    try:
        once = normalize_operator_key(text)
    except ConfigError:
        return
    assert normalize_operator_key(once) == once
    assert str(parse_operator_key(once)) == once


@given(st.lists(st.one_of(st.text(max_size=12), canonical_keys), min_size=1, max_size=6), st.text(max_size=8))
def test_normalise_answers_the_same_every_time_and_each_error_names_its_place(texts, where):
    # the keys already normalized are remembered: asking again must not change any answer
    def answer(text):
        try:
            return normalize_operator_key(text, where=where)
        except ConfigError as error:
            return ("refused", error.what, error.where)

    first = [answer(text) for text in texts]
    assert [answer(text) for text in reversed(texts)] == first[::-1]
    assert all(a[2] == where for a in first if isinstance(a, tuple))


@given(canonical_keys, st.sampled_from(["", " ", "\t", "\n "]), st.data())
def test_normalise_strips_and_lower_cases(text, padding, data):
    shouted = "".join(
        char.upper() if data.draw(st.booleans()) else char for char in text
    )
    assert normalize_operator_key(padding + shouted + padding) == text


@given(st.sampled_from(sorted(LEGACY_OPERATOR_TYPES)), st.data())
def test_legacy_operator_names_map_in_any_case(name, data):
    spelled = "".join(char.upper() if data.draw(st.booleans()) else char.lower() for char in name)
    assert normalize_operator_key(f" {spelled} ") == LEGACY_OPERATOR_TYPES[name]


def test_legacy_operator_names_map_to_the_default_instance_of_their_kind():
    assert dict(LEGACY_OPERATOR_TYPES) == {
        "HPC": "hpc.default",
        "Local": "local.default",
        "Human": "human.default",
        "Experiment": "experiment.default",
        "ManualHPC": "manual_hpc.default",
    }


@pytest.mark.parametrize("garbage", ["", "   ", "stub", "hpc..dev", "hpc dev.x", "ümlaut.x", 42])
def test_normalise_rejects_garbage(garbage):
    with pytest.raises(ConfigError):
        normalize_operator_key(garbage)


# --- existing attempts: column -> operator_data -> operator_type -----------------------------

LEVEL_VALUES = {
    "valid": ("hpc.dev", {"operator_key": "human.dev"}, "Experiment"),
    "invalid": ("not a key", {"operator_key": "Bad..Key"}, "stub"),
    "absent": (None, None, None),
}
EXPECTED_KEYS = {"column": "hpc.dev", "operator_data": "human.dev", "operator_type": "experiment.default"}


@given(st.tuples(*[st.sampled_from(sorted(LEVEL_VALUES))] * 3))
def test_existing_attempt_key_comes_from_the_first_usable_level(states):
    # given each level valid, invalid or absent
    column, operator_data, operator_type = (
        LEVEL_VALUES[state][level] for level, state in enumerate(states)
    )
    # when resolving
    resolved = resolve_attempt_operator_key(column, operator_data, operator_type)
    # then the first valid level wins and the others fall through
    levels = ["column", "operator_data", "operator_type"]
    winner = next((level for level, state in zip(levels, states) if state == "valid"), None)
    assert resolved == ResolvedOperatorKey(EXPECTED_KEYS.get(winner), winner)


@pytest.mark.parametrize("operator_type", ["stub", "Slurm", "", None])
def test_stub_and_unknown_operator_types_resolve_to_no_key(operator_type):
    assert resolve_attempt_operator_key(None, {}, operator_type) == ResolvedOperatorKey(None, None)


def test_legacy_operator_type_resolves_in_any_case():
    assert resolve_attempt_operator_key(None, {}, "hpc").key == "hpc.default"
    assert resolve_attempt_operator_key(None, {}, "MANUALHPC").key == "manual_hpc.default"


def test_operator_data_that_is_not_a_mapping_falls_through():
    resolved = resolve_attempt_operator_key(None, ["hpc.dev"], "HPC")  # type: ignore[arg-type]
    assert resolved == ResolvedOperatorKey("hpc.default", "operator_type")


# --- new attempts: task -> env -> task type -> default ---------------------------------------


def test_task_operator_key_wins_over_env():
    task = Task(task_id="t", operator_key="hpc.dev", env={"MATTERSTACK_OPERATOR": "hpc.default"})
    assert route_new_task(task) == RoutedOperatorKey("hpc.dev", "task")


def test_env_wins_over_task_type_and_legacy_names_are_normalised():
    task = GateTask(task_id="g", env={"MATTERSTACK_OPERATOR": "HPC"})
    assert route_new_task(task) == RoutedOperatorKey("hpc.default", "env")


def test_gate_tasks_go_to_people_and_external_tasks_to_the_lab():
    assert route_new_task(GateTask(task_id="g")) == RoutedOperatorKey("human.default", "task_type")
    assert route_new_task(ExternalTask(task_id="e")) == RoutedOperatorKey(
        "experiment.default", "task_type"
    )


def test_plain_tasks_go_to_the_run_default():
    assert route_new_task(Task(task_id="t")) == RoutedOperatorKey("local.default", "default")
    assert route_new_task(Task(task_id="t"), "hpc.default") == RoutedOperatorKey("hpc.default", "default")


def test_an_empty_env_value_counts_as_absent():
    task = Task(task_id="t", env={"MATTERSTACK_OPERATOR": "  "})
    assert route_new_task(task, "hpc.dev").source == "default"


@pytest.mark.parametrize(
    "task",
    [
        Task(task_id="bad_task", operator_key="hpc..dev"),
        Task(task_id="bad_task", env={"MATTERSTACK_OPERATOR": "not a key"}),
    ],
)
def test_an_invalid_key_at_routing_names_the_task_and_the_value(task):
    with pytest.raises(ConfigError) as caught:
        route_new_task(task)
    message = str(caught.value)
    assert "bad_task" in message
    assert repr(task.operator_key or task.env["MATTERSTACK_OPERATOR"]) in message


def test_an_invalid_run_default_is_an_error():
    with pytest.raises(ConfigError, match="default"):
        route_new_task(Task(task_id="t"), "Default")


@given(
    st.none() | canonical_keys,
    st.none() | canonical_keys,
    st.sampled_from([Task, GateTask, ExternalTask]),
    canonical_keys,
)
def test_new_attempt_routing_reports_which_level_won(pinned, env_key, cls, default):
    task = cls(task_id="t", operator_key=pinned, env={} if env_key is None else {"MATTERSTACK_OPERATOR": env_key})
    routed = route_new_task(task, default)
    if pinned is not None:
        assert routed == RoutedOperatorKey(pinned, "task")
    elif env_key is not None:
        assert routed == RoutedOperatorKey(env_key, "env")
    elif cls.default_operator_key is not None:
        assert routed == RoutedOperatorKey(cls.default_operator_key, "task_type")
    else:
        assert routed == RoutedOperatorKey(default, "default")
