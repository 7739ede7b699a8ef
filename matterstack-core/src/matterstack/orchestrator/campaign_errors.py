"""A campaign's own code that raises: one run note per streak of the same error, and a
FAILED run once the streak is long enough to say the error is in the code.

Each tick that finds the iteration over calls ``analyze`` (and ``plan``) again with the same
state and the same results, so an error that comes back unchanged on
:data:`IDENTICAL_ERRORS_TO_FAIL` ticks in a row would come back for ever. The run is then
FAILED with the error's last line as the reason, and the traceback is in
:data:`TRACEBACK_FILE` in the run folder. Nothing of the failed iteration was kept, so after
fixing ``main.py``, ``matterstack revive`` analyzes the same iteration again.

The streak (which error, how many times, which note counts it) is kept in
:data:`STREAK_FILE` beside the database, not in it: the schema stays as it is.
"""

from __future__ import annotations

import json
import traceback

from matterstack.atomic_write import write_atomic
from matterstack.core.status import RunStatus
from matterstack.errors import MatterStackError
from matterstack.orchestrator.handle import RunHandle

IDENTICAL_ERRORS_TO_FAIL = 5
"""The same error from the same campaign method on this many ticks in a row fails the run."""

TRACEBACK_FILE = "campaign_error.txt"
STREAK_FILE = "campaign_error.json"


def error_line(exc: BaseException) -> str:
    """The last line of ``exc``'s traceback (``KeyError: 'x'``), on one line; a
    MatterStack error's own one-line message."""
    if isinstance(exc, MatterStackError):
        return exc.one_line()
    return " ".join("".join(traceback.format_exception_only(type(exc), exc)).split())


def record_campaign_error(handle: RunHandle, store, phase: str, exc: BaseException) -> str:
    """Record that ``campaign.<phase>()`` raised ``exc``; returns the words for the tick's notes.

    The first error of a streak adds a run note; the same error again counts on that note.
    The :data:`IDENTICAL_ERRORS_TO_FAIL`-th in a row fails the run and ends the streak, so a
    revived run gets as many tries again.
    """
    line = error_line(exc)
    streak = _read_streak(handle)
    repeated = streak is not None and (streak["phase"], streak["error"]) == (phase, line)
    count = streak["count"] + 1 if repeated else 1
    trace_path = handle.root_path / TRACEBACK_FILE
    frames = exc.__traceback__.tb_next if exc.__traceback__ is not None else None  # past the tick's own call
    write_atomic(trace_path, f"campaign {phase}() raised on {count} tick(s) in a row; the last time:\n"
                             + "".join(traceback.format_exception(type(exc), exc, frames or exc.__traceback__)))
    if count >= IDENTICAL_ERRORS_TO_FAIL:
        text = (f"campaign {phase}() raised {line} on {count} ticks in a row: the run is FAILED "
                f"(traceback in {TRACEBACK_FILE})")
    else:
        text = (f"campaign {phase}() raised {line}; the next tick retries (seen on {count} tick(s) in a "
                f"row, the {IDENTICAL_ERRORS_TO_FAIL}th fails the run; traceback in {TRACEBACK_FILE})")
    if repeated:
        note_id = streak["note_id"]
        store.reword_run_note(note_id, text)
    else:
        note_id = store.record_run_note(text)
    if count >= IDENTICAL_ERRORS_TO_FAIL:
        store.set_run_status(RunStatus.FAILED, (
            f"{line}; campaign {phase}() raised it on {count} ticks in a row (traceback in {trace_path}; "
            f"fix: correct main.py, then `matterstack revive {handle.run_id}` runs {phase}() again "
            f"on the same iteration)"))
        end_campaign_error_streak(handle)
    else:
        write_atomic(handle.root_path / STREAK_FILE, json.dumps(
            {"phase": phase, "error": line, "count": count, "note_id": note_id}))
    return text


def end_campaign_error_streak(handle: RunHandle) -> None:
    """The campaign got past the error (or the run failed of it): the next error starts anew."""
    (handle.root_path / STREAK_FILE).unlink(missing_ok=True)


def _read_streak(handle: RunHandle) -> dict | None:
    try:
        streak = json.loads((handle.root_path / STREAK_FILE).read_text())
    except (FileNotFoundError, ValueError):  # none yet, or not a file of ours: a new streak
        return None
    if not isinstance(streak, dict) or not {"phase", "error", "count", "note_id"} <= streak.keys():
        return None
    return streak
