"""JSON text written as it is made.

``json.dumps`` with an indent keeps every piece of the text (millions of small strings for the
evidence of a run of a million tasks) and joins them at the end; :func:`write_json` hands the
same text on in batches.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def write_json(value: Any, write: Callable[[str], Any], pieces_per_write: int = 1 << 16) -> None:
    """Give ``write`` the text of ``json.dumps(value, indent=2)`` and a newline, in batches."""
    pieces: list[str] = []
    for piece in json.JSONEncoder(indent=2).iterencode(value):
        pieces.append(piece)
        if len(pieces) >= pieces_per_write:
            write("".join(pieces))
            pieces.clear()
    pieces.append("\n")
    write("".join(pieces))
