"""docs/testing-plugins.md documents the whole conformance kit an author drives: every member
of the harness and of a tick run, and every field of ``Submitted``, is named in its tables."""

from __future__ import annotations

import inspect
import itertools
import re
from pathlib import Path

import attrs

from matterstack.testing.harness import ConformanceHarness, Submitted
from matterstack.testing.tick_run import TickRun

PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing-plugins.md"


def table_names(heading_text: str) -> set[str]:
    """The names in backticks of the first column of the first table after ``heading_text``
    (a signature counts by its name: ``poll_until(operator, ...)`` is ``poll_until``)."""
    lines = PAGE.read_text().split(heading_text, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = list(itertools.takewhile(lambda line: line.startswith("|"), lines[start:]))
    names = set()
    for row in rows[2:]:
        first_column = row.split(" | ", 1)[0]
        names |= {re.sub(r"\(.*", "", name) for name in re.findall(r"`([^`]+)`", first_column)}
    return names


def public_members(cls: type, instance_attributes: set[str]) -> set[str]:
    methods = {name for name, _ in inspect.getmembers(cls) if not name.startswith("_")}
    return methods | {name for name in instance_attributes if not name.startswith("_")}


def assigned_attributes(cls: type) -> set[str]:
    """The ``self.<name> =`` assignments of a class's ``__init__``."""
    return set(re.findall(r"self\.(\w+) =", inspect.getsource(cls.__init__)))


def test_every_member_of_the_harness_is_in_the_page():
    documented = table_names("## The harness")

    assert public_members(ConformanceHarness, assigned_attributes(ConformanceHarness)) - documented == set()


def test_every_field_of_submitted_is_in_the_page():
    documented = table_names("A `Submitted` is one attempt")

    assert {field.name for field in attrs.fields(Submitted)} - documented == set()


def test_every_member_of_a_tick_run_is_in_the_page():
    documented = table_names("A `TickRun` (from `tick_run`) is one real run")

    assert public_members(TickRun, assigned_attributes(TickRun)) - documented == set()
