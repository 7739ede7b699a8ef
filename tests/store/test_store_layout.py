"""A file is told apart by what it holds: the original's "4" is never taken for ours."""

from __future__ import annotations

import sqlite3

from hypothesis import given
from hypothesis import strategies as st
from store_helpers import LEGACY_ROOT, expected_for, new_run

from matterstack.store import StateStore
from matterstack.store.layout import (
    CURRENT,
    ORIGINAL,
    ORIGINAL_REQUIRES,
    OUR_TABLES,
    OURS,
    LayoutError,
    SchemaLayout,
    identify,
    read_layout,
)
from matterstack.store.schema import CURRENT_DDL

KNOWN_TABLES = sorted(OUR_TABLES | {"schema_info", "runs", "tasks", "task_attempts", "external_runs", "other"})
KNOWN_COLUMNS = ["current_attempt_id", "operator_key", "waiting_on", "status"]


def layout_of(path) -> SchemaLayout:
    with sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True) as connection:
        return read_layout(connection)


def test_every_legacy_fixture_is_the_originals_at_its_number(legacy_run_id):
    expected = expected_for(legacy_run_id)

    layout = layout_of(LEGACY_ROOT / expected["fixture"] / "state.sqlite")

    assert layout == SchemaLayout(ORIGINAL, int(expected["schema_version"]))


def test_the_originals_4_and_our_unmarked_4_are_told_apart(tmp_path):
    # given our layout as earlier versions of this project wrote it: version 4, no writer mark
    ours = sqlite3.connect(tmp_path / "ours.sqlite")
    for statement in CURRENT_DDL:
        ours.execute(statement)
    ours.execute("INSERT INTO schema_info VALUES ('version', '4')")

    assert read_layout(ours) == SchemaLayout(OURS, 4)
    assert layout_of(LEGACY_ROOT / expected_for("20261207_021509_d1bee641")["fixture"] / "state.sqlite") == (
        SchemaLayout(ORIGINAL, 4))


def test_a_new_file_is_current_and_an_unmarked_4_of_ours_is_marked_on_open(tmp_path):
    path = tmp_path / "run" / "state.sqlite"
    StateStore.create(path, new_run()).close()
    assert layout_of(path) == CURRENT
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM schema_info WHERE key = 'writer'")
        connection.execute("UPDATE schema_info SET value = '4'")
    connection.close()

    with StateStore.open(path) as store:
        assert store.migrated_from == SchemaLayout(OURS, 4)

    assert layout_of(path) == CURRENT
    assert list(path.parent.glob("*.bak")) == []


@given(
    version=st.one_of(st.none(), st.sampled_from(["0", "1", "2", "3", "4", "5", "6", "x", ""])),
    writer=st.one_of(st.none(), st.sampled_from(["matterstack-core", "other"])),
    tables=st.dictionaries(st.sampled_from(KNOWN_TABLES), st.frozensets(st.sampled_from(KNOWN_COLUMNS))),
)
def test_any_file_is_identified_or_refused_never_misread(version, writer, tables):
    info = {k: v for k, v in (("version", version), ("writer", writer)) if v is not None}

    try:
        layout = identify(info, tables)
    except LayoutError as refusal:
        assert str(refusal) and refusal.fix
        return

    assert str(layout.version) == version
    if layout.writer == ORIGINAL:
        need_tables, need_columns = ORIGINAL_REQUIRES[layout.version]
        assert writer is None and not (OUR_TABLES & set(tables)) and need_tables <= set(tables)
        assert all(columns <= tables[table] for table, columns in need_columns.items())
    else:
        assert OUR_TABLES <= set(tables) and "waiting_on" in tables["tasks"]
        assert (writer, layout.version) in {("matterstack-core", CURRENT.version), (None, 4)}
