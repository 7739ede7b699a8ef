"""How large a file MatterStack reads from outside may be.

Parsing is far costlier than the file (a 20 MB ``operators.yaml`` took 87 s and 1.9 GB; a
200 MB ``response.json`` 617 MB), so a file over its limit is refused before it is read, in
one line naming the file, the limit and the variable that raises it:

- :data:`CONFIG_FILE_LIMIT` (``MATTERSTACK_MAX_CONFIG_MB``, 1 MB): ``operators.yaml``,
  profile files, legacy cluster files, a 0.2.x run's ``config.json``;
- :data:`ANSWER_FILE_LIMIT` (``MATTERSTACK_MAX_ANSWER_MB``, 64 MB): what people, labs and
  clusters answer with (``response.json``, ``experiment_result.json``, a job bundle's
  ``status.json``, the lab API's answers).

A limit is read from its variable at every read (the value is megabytes, a decimal number
above 0), so it can be raised for the next ``step`` without touching the run.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import attrs

from matterstack.errors import ConfigError

MB = 1024 * 1024


class InputLimitError(ConfigError):
    """A file over its size limit, or a limit variable that is not a size."""


@attrs.frozen
class InputLimit:
    """The size limit of one kind of input: ``what`` it covers, the variable that sets it,
    and its default in megabytes."""

    what: str
    variable: str
    default_mb: float

    def megabytes(self) -> float:
        """The limit in force: the variable's value, else the default."""
        text = os.environ.get(self.variable, "").strip()
        if not text:
            return self.default_mb
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not value > 0 or value == float("inf"):
            raise InputLimitError(f"{self.variable}={text!r} is not a size in megabytes", where=self.variable,
                                  fix=f"set it to a number above 0 (default {self.default_mb:g}), or unset it")
        return value

    def max_bytes(self) -> int:
        return int(self.megabytes() * MB)

    def refusal(self, path: Path | str, size: int | None) -> InputLimitError:
        """The error for ``path`` of ``size`` bytes (None: unknown, more than the limit)."""
        limit = f"the {self.megabytes():g} MB limit for {self.what}"
        if size is None:
            what, suggested = f"is larger than {limit}; it was not read", self.megabytes() * 2
        else:
            shown = f"{size / MB:.1f} MB" if size >= MB / 10 else f"{size} bytes"
            what = f"is {shown}, over {limit}; it was not read"
            needed = math.ceil(size / MB)
            suggested = max(self.megabytes() * 2, 1 << (needed - 1).bit_length())  # a power of two that fits it
        return InputLimitError(what, where=str(path), fix=f"set {self.variable}={suggested:g} (megabytes) where "
                                                          f"matterstack runs, or make the file smaller")


CONFIG_FILE_LIMIT = InputLimit("configuration files", "MATTERSTACK_MAX_CONFIG_MB", 1)
"""``operators.yaml``, profile files, legacy cluster files, a 0.2.x run's ``config.json``."""

ANSWER_FILE_LIMIT = InputLimit("answer files", "MATTERSTACK_MAX_ANSWER_MB", 64)
"""``response.json``, ``experiment_result.json``, ``status.json``, the lab API's answers."""


def read_within_limit(path: Path | str, limit: InputLimit) -> bytes:
    """The bytes of ``path``, or :class:`InputLimitError` when it is over ``limit`` (checked
    before reading, and again while reading, for a file that grows or is no regular file).
    ``OSError`` (missing, unreadable) is the caller's to report."""
    most = limit.max_bytes()
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > most:
            raise limit.refusal(path, size)
        data = handle.read(most + 1)
    if len(data) > most:
        raise limit.refusal(path, None)  # it grew while read, or is no regular file
    return data
