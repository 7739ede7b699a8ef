"""Errors a MatterStack user or plugin author can meet.

Every error that bad input can cause is a :class:`MatterStackError`: it renders as one
line that says what went wrong, where (a file, a key path, a run) and how to fix it, and it
carries the process exit code the CLI uses (2 for bad input, 3 for a locked run).
"""

from __future__ import annotations


class MatterStackError(Exception):
    """Bad input or configuration, reported to a person as one line.

    ``what`` says what is wrong, ``where`` names the file, key path or run it concerns,
    ``fix`` says what to do about it.
    """

    exit_code = 2

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None):
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message as shown to a person: ``where: what (fix: ...)`` on one line."""
        text = f"{self.where}: {self.what}" if self.where else self.what
        if self.fix:
            text = f"{text} (fix: {self.fix})"
        return " ".join(text.split())


class ConfigError(MatterStackError):
    """A configuration file or command-line value does not validate."""


class WorkflowError(MatterStackError):
    """A workflow is malformed: duplicate task id, unknown dependency, a cycle."""


class TransitionError(MatterStackError):
    """A run or attempt status change the rules forbid (e.g. leaving a terminal status)."""


class StoreError(MatterStackError):
    """A state database cannot be opened, migrated or written."""


class RunNotFoundError(MatterStackError):
    """No run with the given id exists where MatterStack looked."""


class RunLockedError(MatterStackError):
    """Another process holds ``run.lock``: the run is being stepped elsewhere."""

    exit_code = 3


class DatabaseBusyError(RunLockedError):
    """Another process held a write transaction on ``state.sqlite`` for longer than SQLite's
    busy timeout: an outage, not a failure. Nothing was changed; ``loop`` waits and retries,
    other commands exit 3 as for a run stepped elsewhere."""


class PluginError(MatterStackError):
    """A plugin failed to load, collided with another, or is not installed."""


class OperatorError(MatterStackError):
    """Raised by an operator or backend. Subclasses say whether to retry."""


class TransientOperatorError(OperatorError):
    """Infrastructure trouble (SSH drop, scheduler timeout): retried on a later tick.

    An attempt is never failed because of a transient error; ``explain`` shows it.
    """


class BackPressureError(TransientOperatorError):
    """The outside system takes no more work from this user for now (a per-user cap on
    queued jobs, such as Slurm's ``MaxSubmitJobs``): nothing failed and nothing is down.

    The attempt stays CREATED with the message as its reason, the instance is asked for no
    more submissions this tick, and the next tick tries again.
    """


class PermanentOperatorError(OperatorError):
    """The external system refused the work for good (bad partition, invalid script)."""
