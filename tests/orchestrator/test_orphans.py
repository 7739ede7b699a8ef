"""The rules of ``cleanup-orphans``: 0.2.x's --timeout spellings, and which attempts are orphans."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matterstack.core.records import Attempt
from matterstack.core.status import AttemptStatus
from matterstack.errors import ConfigError
from matterstack.orchestrator.orphans import describe_age, find_orphans, parse_timeout

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["h", "m", "s", "", "H", "M", "S"]),
       st.sampled_from(["", " ", "\t"]))
def test_a_whole_number_with_h_m_s_or_nothing_is_read_as_0_2_x_read_it(number, unit, padding):
    seconds = {"h": 3600, "m": 60, "s": 1, "": 1}[unit.lower()]

    assert parse_timeout(f"{padding}{number}{unit}{padding}") == timedelta(seconds=number * seconds)


@given(st.text().filter(lambda t: not __import__("re").fullmatch(r"\s*\d+[hmsHMS]?\s*", t)))
def test_anything_else_is_one_config_error_naming_the_option(text):
    with pytest.raises(ConfigError) as caught:
        parse_timeout(text)

    line = caught.value.one_line()
    assert line.startswith("cleanup-orphans --timeout: invalid timeout") and "\n" not in line
    assert "e.g. 1h, 30m, 3600s or 3600" in line


def attempt(index: int, status=AttemptStatus.CREATED, external_id=None, age=timedelta(hours=2)):
    return Attempt(attempt_id=f"a{index}", task_id=f"t{index}", run_id="r", attempt_index=1, status=status,
                   external_id=external_id, created_at=NOW - age)


def test_only_created_attempts_without_external_id_older_than_the_timeout_are_orphans():
    attempts = [
        attempt(1),
        attempt(2, age=timedelta(minutes=59)),
        attempt(3, external_id="job-3"),
        attempt(4, status=AttemptStatus.SUBMITTED),
        attempt(5, age=timedelta(hours=3)),
    ]

    found = find_orphans(attempts, NOW, timedelta(hours=1))

    assert [a.attempt_id for a in found] == ["a5", "a1"]  # oldest first


@pytest.mark.parametrize(("age", "shown"), [(timedelta(minutes=42), "42m"), (timedelta(hours=1, minutes=15), "1h 15m"),
                                            (timedelta(seconds=59), "0m"), (timedelta(hours=26), "26h 0m")])
def test_ages_read_as_0_2_x_printed_them(age, shown):
    assert describe_age(NOW - age, NOW) == shown
