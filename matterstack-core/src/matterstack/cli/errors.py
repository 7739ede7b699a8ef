"""How the command line reports errors.

Every :class:`MatterStackError` becomes one line, ``Error: <what, where, fix>``, on stderr and
the error's exit code (2 for bad input, 3 for a locked run). ``--debug`` prints the traceback
first. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Iterator, Sequence

from matterstack.errors import MatterStackError

DEBUG_KEY = "matterstack.debug"


def debug_requested(args: Sequence[str]) -> bool:
    """Whether ``--debug`` is among the global options, i.e. before the first sub-command.

    Read from the arguments because an error can happen before typer parses them (while
    plugins load)."""
    for arg in args:
        if arg == "--debug":
            return True
        if not arg.startswith("-"):
            return False
    return False


def report(error: MatterStackError, *, debug: bool) -> int:
    """Print ``error`` for a person (with its traceback under ``--debug``); return its exit code."""
    if debug:
        traceback.print_exception(type(error), error, error.__traceback__)
    sys.stderr.write(f"Error: {error.one_line()}\n")
    return error.exit_code


@contextlib.contextmanager
def reporting_errors(*, debug: bool) -> Iterator[None]:
    """Run the block; a MatterStackError leaving it is reported and exits with its code."""
    try:
        yield
    except MatterStackError as error:
        sys.exit(report(error, debug=debug))
