"""MatterStack's conformance kit run against kind ``shell``: real detached processes on this
machine. A local shell has no outage a test could cause, so the transient-error tests use the
kit's named fake (their test ids say ``fake-unreachable``)."""

from __future__ import annotations

import os
import re
import signal

import pytest

from matterstack.plugins import AttemptStatus, PermanentOperatorError
from matterstack.testing import OperatorConformance


class TestShellConformance(OperatorConformance):
    operator_key = "shell.default"
    invalid_settings = [
        ({"max_concurrent": "many"}, "operators.shell.default.max_concurrent: expected an integer, found a string"),
        ({"shell": ["bash"]}, "operators.shell.default.shell: expected a string, found a list"),
        ({"shel": "/bin/bash"}, "operators.shell.default.shel: unknown key"),
    ]

    def operator_settings(self, tmp_path):
        return {"max_concurrent": 4}

    def test_a_shell_that_is_not_installed_refuses_the_attempt_naming_the_setting(self, matterstack_harness):
        operator = matterstack_harness.new_operator({"shell": "/no/such/shell"})
        attempt = matterstack_harness.attempt("succeed")
        operator.prepare(attempt)

        with pytest.raises(PermanentOperatorError, match=r"operators\.shell\.default\.shell .*/bin/sh"):
            operator.submit(attempt)

    def test_a_process_killed_from_outside_fails_its_attempt_saying_so(self, matterstack_harness):
        operator = matterstack_harness.new_operator()
        submitted = matterstack_harness.submit(operator, matterstack_harness.attempt("long"), "long")
        matterstack_harness.poll_until(operator, [submitted], done=lambda s: s.status == AttemptStatus.RUNNING,
                                       what="RUNNING")
        process_group = int(re.search(r"process group (\d+)", submitted.last.reason).group(1))

        os.killpg(process_group, signal.SIGKILL)
        matterstack_harness.poll_until(operator, [submitted])

        assert submitted.status == AttemptStatus.FAILED
        assert submitted.last.reason == "the process ended without recording an exit code"


class TestShellConformanceWithBashFoundOnThePath(OperatorConformance):
    """The same tests with ``shell`` naming a program looked up on PATH."""

    operator_key = "shell.bash"

    def operator_settings(self, tmp_path):
        return {"shell": "bash"}
