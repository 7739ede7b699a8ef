"""Chronological ids (``YYYYMMDD_HHMMSS_<8 hex>``, UTC), as MatterStack 0.2.6 named runs,
attempts and tasks made without a ``task_id``: their shape, their order, their uniqueness."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone

from hypothesis import example, given
from hypothesis import strategies as st

from matterstack.core.ids import CHRONOLOGICAL_ID, IssuedIds, chronological_id, id_second, is_chronological_id
from matterstack.core.workflow import Task
from matterstack.orchestrator.api import new_run_id

ORIGINAL_SHAPE = r"^\d{8}_\d{6}_[a-f0-9]{8}$"  # the pattern of the original's own id tests
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2999, 12, 31),
                     timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-7)),
                                                timezone(timedelta(hours=5, minutes=30))]))
ids = st.builds(lambda at, suffix: f"{id_second(at)}_{suffix:08x}", times, st.integers(0, 16**8 - 1))


@given(times)
def test_an_id_is_the_utc_second_of_its_creation_and_eight_hex_digits(at):
    # when
    made = chronological_id(at)
    # then
    utc = at.astimezone(timezone.utc)
    assert CHRONOLOGICAL_ID.match(made) and is_chronological_id(made)
    assert made[:15] == f"{utc:%Y%m%d_%H%M%S}" and len(made) == 24
    assert made.isascii() and made == made.lower()


@given(times, times)
def test_ids_of_different_seconds_sort_by_time(first, second):
    # given two moments a second or more apart
    earlier, later = sorted([first, second])
    if later - earlier < timedelta(seconds=1):
        later = earlier + timedelta(seconds=1)
    # then the earlier one's id sorts first, whatever the suffixes
    assert chronological_id(earlier) < chronological_id(later)


@given(ids, times)
@example("20261207_021445_ffffffff", datetime(2026, 12, 7, 2, 14, 45, tzinfo=timezone.utc))
@example("20261207_021445_fffffffe", datetime(2026, 12, 7, 2, 14, 45, tzinfo=timezone.utc))
@example("20261207_235959_ffffffff", datetime(2026, 12, 7, 23, 59, 59, tzinfo=timezone.utc))
def test_an_id_made_after_another_sorts_after_it_or_carries_a_later_second(after, at):
    # when
    made = chronological_id(at, after=after)
    # then it sorts after ``after``, even in the same second or with a clock that went back,
    # and its time is never earlier than its creation
    assert CHRONOLOGICAL_ID.match(made)
    assert made > after and made[:15] >= id_second(at)


@given(times, st.sampled_from(["3f2a8c1e-5b7d-4e0f-9a6b-2c4d6e8f0a1b", "ae830d634ecf4f75880f1dc7896d7848",
                               "not-an-id", "20261207_021445_XYZ"]))
def test_an_id_after_a_uuid_of_an_older_run_is_simply_a_new_id(at, older):
    assert chronological_id(at, after=older)[:15] == id_second(at)


def test_a_taken_id_is_never_given_out_again():
    # given every suffix of the second above the previous id taken
    at = datetime(2026, 12, 7, 2, 14, 45, tzinfo=timezone.utc)
    taken = {f"20261207_021445_{suffix:08x}" for suffix in range(16**8 - 16, 16**8)}
    # when
    made = chronological_id(at, after="20261207_021445_ffffffef", taken=taken)
    # then the next second is used
    assert made.startswith("20261207_021446_") and made not in taken


@given(ids)
def test_uuids_and_other_text_are_not_chronological_ids(made):
    assert is_chronological_id(made)
    for other in ("3f2a8c1e-5b7d-4e0f-9a6b-2c4d6e8f0a1b", "20261207_021445_6C938EA9", made + "0", made[:-1],
                  f"equilibrate_{made}", None, 20261207):
        assert not is_chronological_id(other)


def test_many_ids_of_one_process_in_one_second_never_repeat():
    # given one issuer shared by several threads
    issuer, made = IssuedIds(), []

    def draw():
        made.extend(issuer.new() for _ in range(5000))

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then 20,000 ids, all different
    assert len(made) == len(set(made)) == 20000


def test_a_task_made_without_an_id_gets_a_chronological_one_as_in_0_2_6():
    before = id_second(datetime.now(timezone.utc))
    task = Task(image="ubuntu", command="true")
    after = id_second(datetime.now(timezone.utc))
    assert CHRONOLOGICAL_ID.match(task.task_id)
    assert before <= task.task_id[:15] <= after
    assert Task(image="ubuntu", command="true").task_id != task.task_id


def test_run_attempt_and_task_ids_share_one_shape():
    for made in (new_run_id(), chronological_id(), Task(image="u", command="c").task_id):
        assert re.match(ORIGINAL_SHAPE, made), made
