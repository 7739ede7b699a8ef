"""The ``shell`` operator: run a task's command with a shell, as a detached process.

Everything but the shell comes from :class:`matterstack.plugins.CommandOperator`: staging and
the manifest, one detached process group per attempt tagged with its token (so submitting a
token twice runs it once and ``reconcile`` finds it after a crash), cancelling the whole
group, the outputs with their sha256, and exit code 0 as COMPLETED, anything else FAILED
with the exit code and the tail of stderr as the reason.
"""

from __future__ import annotations

import shutil

from matterstack.plugins import AttemptContext, CommandOperator, PermanentOperatorError


class ShellOperator(CommandOperator):
    """Runs each attempt's command as ``<settings.shell> -c <command>`` in the attempt directory."""

    def command(self, attempt: AttemptContext) -> list[str]:
        shell = shutil.which(self.settings.shell)
        if shell is None:
            raise PermanentOperatorError(
                f"{self.key}: shell {self.settings.shell!r} is not an executable on this machine",
                fix=f"set operators.{self.key}.shell in operators.yaml to an installed shell, e.g. /bin/sh",
            )
        return [shell, "-c", attempt.task.command]
