"""``loop``'s idle wait ends when a local job (a child process) ends, and leaves the
process's signal handling as it found it."""

from __future__ import annotations

import signal
import subprocess
import time

from matterstack.cli.child_exit import ChildExitWait


def test_the_wait_ends_when_a_child_process_ends():
    # given a wait set up, and a child that ends soon
    waiter = ChildExitWait()
    try:
        child = subprocess.Popen(["sleep", "0.1"])
        # when waiting far longer than the child lives
        started = time.monotonic()
        waiter.sleep(60)
        # then the wait ended with the child, not after the full minute
        assert time.monotonic() - started < 30
        assert child.wait(timeout=5) == 0
    finally:
        waiter.close()
    # and afterwards SIGCHLD is handled as before and no wake-up pipe is left set
    assert signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL
    assert signal.set_wakeup_fd(-1) == -1


def test_a_process_that_handles_sigchld_itself_gets_a_plain_sleep():
    def own_handler(signum, frame):
        pass

    previous = signal.signal(signal.SIGCHLD, own_handler)
    try:
        waiter = ChildExitWait()
        waiter.sleep(0.001)
        waiter.close()
        assert signal.getsignal(signal.SIGCHLD) is own_handler
    finally:
        signal.signal(signal.SIGCHLD, previous)
