"""``matterstack.core.id_generator``: 0.2.6's id functions, for code that imports them."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from matterstack.core.id_generator import (
    generate_attempt_id,
    generate_chronological_id,
    generate_run_id,
    generate_task_id,
    with_collision_retry,
)

PLAIN = re.compile(r"\d{8}_\d{6}_[a-f0-9]{8}\Z")
HINTED = re.compile(r"([a-z0-9_]+)_(\d{8}_\d{6}_[a-f0-9]{8})\Z")


def test_run_attempt_and_plain_task_ids_have_the_0_2_6_shape():
    for made in (generate_run_id(), generate_attempt_id(), generate_task_id(), generate_chronological_id()):
        assert PLAIN.match(made)
    assert len({generate_task_id() for _ in range(500)}) == 500


def test_a_hint_is_cleaned_as_0_2_6_cleaned_it():
    assert generate_task_id("Equilibrate").startswith("equilibrate_2")
    assert generate_task_id("Phase 1 - Setup").startswith("phase_1_setup_2")
    assert generate_task_id("phase-1!").startswith("phase_1_2")
    assert PLAIN.match(generate_task_id("!!!"))
    assert generate_chronological_id(prefix="test").startswith("test_2")


@given(st.text(max_size=60))
def test_any_hint_gives_a_folder_safe_id_with_at_most_20_characters_in_front(hint):
    made = generate_task_id(hint)
    matched = HINTED.match(made)
    assert PLAIN.match(made) or (matched and len(matched[1]) <= 20 and not matched[1].startswith("_"))


def test_with_collision_retry_passes_arguments_and_retries_a_repeat():
    calls = []

    def same(**kwargs):
        calls.append(kwargs)
        return "always_same"

    wrapped = with_collision_retry(same, max_retries=2, delay_ms=1)
    assert wrapped(hint="x") == "always_same" and len(calls) == 1
    assert wrapped(hint="x") == "always_same" and len(calls) == 4
    assert with_collision_retry(generate_task_id)(hint="test_arg").startswith("test_arg_")
