"""Which run ids are accepted.

A run id names the run's folder, ``<workspace>/runs/<run_id>/``, and is printed in one-line
messages and progress lines. So, as for a task id, it must be one safe path segment (no
``/``, ``\\``, NUL, not ``.`` or ``..``, so an id never reaches outside ``runs/``), and in
addition no control character (a newline would split those lines) and at most
:data:`MAX_RUN_ID_BYTES` bytes (the longest folder name of common filesystems).
"""

from __future__ import annotations

from matterstack.errors import ConfigError

MAX_RUN_ID_BYTES = 255
RUN_ID_FIX = "use letters, digits, '_', '-' or '.', without '/' and not '.' or '..'"


def run_id_problem(value: object) -> str | None:
    """Why ``value`` cannot be a run id, or None if it can."""
    if not isinstance(value, str) or not value:
        return "must be non-empty text"
    if value in (".", ".."):
        return "must not be '.' or '..'"
    if any(char in value for char in "/\\"):
        return "must be one folder name, without '/' or '\\'"
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        return "must not hold control characters (newline, tab, NUL, ...)"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "must be valid text (it holds a lone surrogate)"
    if size > MAX_RUN_ID_BYTES:
        return f"is {size} bytes long; a folder name holds at most {MAX_RUN_ID_BYTES}"
    return None


def check_run_id(value: object, where: str = "run_id") -> str:
    """``value`` if it can be a run id; else :class:`ConfigError` (exit code 2) saying why,
    said of ``where`` (the option or argument that gave it)."""
    problem = run_id_problem(value)
    if problem is not None:
        raise ConfigError(f"run id {value!r} {problem}", where=where, fix=RUN_ID_FIX)
    return value
