"""A note recorded again (the same trouble met on every tick) is counted on the note kept
already, with its last time, instead of adding a row per tick; the schema stays v5."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from store_helpers import new_run

from matterstack.store import StateStore

RUN = new_run()
T0 = datetime(2027, 1, 1, 12, 0, tzinfo=timezone.utc)
OUTAGE = "hpc.dev: ssh: connection refused; 3 attempt(s) left for the next tick"


def rows(db: Path) -> list[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        return [row[0] for row in connection.execute("SELECT text FROM run_notes ORDER BY id")]


def test_a_note_recorded_on_every_tick_is_kept_once_with_its_count_and_last_time(tmp_path):
    # given a run
    db = tmp_path / RUN.run_id / "state.sqlite"
    with StateStore.create(db, RUN) as store:
        # when the same note comes back on three ticks, another note between them
        store.record_run_note(OUTAGE, at=T0)
        store.record_run_note("rerun of t1: cores 2", at=T0 + timedelta(minutes=1))
        first_id = store.record_run_note(OUTAGE, at=T0 + timedelta(minutes=2))
        again_id = store.record_run_note(OUTAGE, at=T0 + timedelta(minutes=3))

    # then the database holds two notes, and the repeated one says how often and when last
    assert len(rows(db)) == 2 and first_id == again_id
    with StateStore.open(db, readonly=True) as store:
        outage, rerun = store.run_notes()
    assert (outage.text, outage.count, outage.at, outage.last_at) == (OUTAGE, 3, T0, T0 + timedelta(minutes=3))
    assert (rerun.text, rerun.count) == ("rerun of t1: cores 2", 1)
    assert outage.describe() == (f"{T0.isoformat()}: {OUTAGE} (3 times, the last at "
                                 f"{(T0 + timedelta(minutes=3)).isoformat()})")


def test_a_note_that_only_begins_like_another_is_a_note_of_its_own(tmp_path):
    # given a note kept twice
    with StateStore.create(tmp_path / RUN.run_id / "state.sqlite", RUN) as store:
        store.record_run_note("disk full", at=T0)
        store.record_run_note("disk full", at=T0 + timedelta(minutes=1))
        # when a longer note starting with the same words comes
        store.record_run_note("disk full [on /scratch]", at=T0 + timedelta(minutes=2))
        # then it is kept apart, and the first keeps its count
        assert [(n.text, n.count) for n in store.run_notes()] == [("disk full", 2), ("disk full [on /scratch]", 1)]


@settings(max_examples=40, deadline=None)
@given(text=st.text(min_size=1, max_size=80), times=st.integers(min_value=1, max_value=4))
def test_any_note_recorded_n_times_reads_back_as_itself_counted_n_times(text, times):
    with tempfile.TemporaryDirectory() as folder:
        with StateStore.create(Path(folder) / RUN.run_id / "state.sqlite", RUN) as store:
            for minute in range(times):
                store.record_run_note(text, at=T0 + timedelta(minutes=minute))
            (note,) = store.run_notes()
    assert (note.text, note.count, note.at) == (text, times, T0)
    assert note.last_at == T0 + timedelta(minutes=times - 1)
