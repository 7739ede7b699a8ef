"""A process on this machine whose standard output is read as it comes: the local shell's
streamed commands and OpenSSH's ``ssh`` client both run through :func:`run_piped`."""

from __future__ import annotations

import os
import select
import subprocess
import tempfile
from collections.abc import Callable
from typing import BinaryIO


def run_piped(argv: list[str], stdin: BinaryIO | None, on_chunk: Callable[[bytes], None],
              timeout: float) -> tuple[int, str]:
    """Run ``argv`` with ``stdin`` (a file with a descriptor; None: nothing) as its standard
    input, handing each chunk of its standard output to ``on_chunk`` as it arrives; return its
    exit code and standard error. TimeoutError after ``timeout`` seconds without output (or
    without exiting once its output ended); the process is killed then, and when ``on_chunk``
    raises."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL if stdin is None else stdin,
                                   stdout=subprocess.PIPE, stderr=errors)
        try:
            for chunk in _chunks_of(process.stdout.fileno(), timeout):
                on_chunk(chunk)
            code = process.wait(timeout=timeout)
        except BaseException as exc:
            process.kill()
            process.wait()
            if isinstance(exc, subprocess.TimeoutExpired):
                raise TimeoutError from exc
            raise
        finally:
            process.stdout.close()
        errors.seek(0)
        return code, errors.read().decode(errors="replace")


class LineSplitter:
    """Chunks of bytes in, whole decoded lines out to ``on_line``; :meth:`end` hands over a
    last line that has no newline."""

    def __init__(self, on_line: Callable[[str], None]):
        self.on_line = on_line
        self.pending = b""

    def __call__(self, chunk: bytes) -> None:
        *lines, self.pending = (self.pending + chunk).split(b"\n")
        for line in lines:
            self.on_line(line.decode(errors="replace"))

    def end(self) -> None:
        if self.pending:
            self.pending, last = b"", self.pending
            self.on_line(last.decode(errors="replace"))


def _chunks_of(fd: int, timeout: float):
    """What ``fd`` gives as it comes; TimeoutError after ``timeout`` s of silence."""
    while True:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            raise TimeoutError
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return
        yield chunk
