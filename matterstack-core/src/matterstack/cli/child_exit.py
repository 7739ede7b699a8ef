"""Waiting between ticks of ``loop``, cut short when a local job ends.

Local jobs are children of the ``loop`` process, so their end raises SIGCHLD here: an idle
wait returns at once instead of sleeping on while the result waits to be collected. Other
operators (Slurm, people, instruments) raise nothing and the wait is the plain backoff.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time


def _ignore(signum, frame) -> None:
    """The handler that makes SIGCHLD reach the wake-up pipe (the default ignores it)."""


class ChildExitWait:
    """``sleep(seconds)`` that returns early when a child process ends (or on Ctrl-C).

    It installs a SIGCHLD handler (with SA_RESTART, so no system call is interrupted) and the
    process's signal wake-up pipe, only in the main thread and only if nobody else uses
    either; otherwise it is a plain ``time.sleep``. ``close()`` puts things back.
    """

    def __init__(self) -> None:
        self._pipe: tuple[int, int] | None = None
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGCHLD) not in (signal.SIG_DFL, None):
            return
        read, write = os.pipe()
        for end in (read, write):
            os.set_blocking(end, False)
        if signal.set_wakeup_fd(write, warn_on_full_buffer=False) != -1:
            signal.set_wakeup_fd(-1)  # someone else's wake-up pipe was set: leave it to them
            os.close(read)
            os.close(write)
            return
        signal.signal(signal.SIGCHLD, _ignore)
        signal.siginterrupt(signal.SIGCHLD, False)
        self._pipe = (read, write)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less if a child process ends meanwhile."""
        if seconds <= 0:
            return
        if self._pipe is None:
            time.sleep(seconds)
            return
        read = self._pipe[0]
        ready, _, _ = select.select([read], [], [], seconds)
        if ready:
            try:
                while os.read(read, 512):
                    pass
            except BlockingIOError:
                pass

    def close(self) -> None:
        """Restore the default SIGCHLD handling and remove the wake-up pipe."""
        if self._pipe is None:
            return
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        for end in self._pipe:
            os.close(end)
        self._pipe = None
