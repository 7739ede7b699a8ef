"""MatterStack's conformance kit run against kind ``shell``: real detached processes on this
machine. A local shell has no outage a test could cause, so the transient-error tests use the
kit's named fake (their test ids say ``fake-unreachable``)."""

from __future__ import annotations

import pytest

from matterstack.plugins import PermanentOperatorError
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


class TestShellConformanceWithBashFoundOnThePath(OperatorConformance):
    """The same tests with ``shell`` naming a program looked up on PATH."""

    operator_key = "shell.bash"

    def operator_settings(self, tmp_path):
        return {"shell": "bash"}
