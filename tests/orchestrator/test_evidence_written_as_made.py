"""The evidence bundle and ``explain --json`` are written as they are made (a run of a million
tasks never holds its whole text in memory), byte for byte what ``json.dumps(..., indent=2)``
gives; and a bundle that cannot be written whole leaves the one before it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matterstack.atomic_write import atomic_file
from matterstack.json_text import write_json

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(value=JSON_VALUES, chunks_per_write=st.integers(min_value=1, max_value=5))
def test_the_bundle_text_is_what_json_dumps_gives_however_it_is_cut(value, chunks_per_write):
    out = io.StringIO()

    write_json(value, out.write, chunks_per_write)

    assert out.getvalue() == json.dumps(value, indent=2) + "\n"


def test_a_bundle_that_fails_half_way_leaves_the_one_before_it(tmp_path: Path):
    target = tmp_path / "evidence" / "bundle.json"
    target.parent.mkdir()
    target.write_text('{"before": true}\n')

    with pytest.raises(TypeError), atomic_file(target) as out:
        write_json({"tasks": [1, 2, object()]}, lambda text: out.write(text.encode()), 1)

    assert target.read_text() == '{"before": true}\n'
    assert [p.name for p in target.parent.iterdir()] == ["bundle.json"]
