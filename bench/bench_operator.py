"""The operator kind ``bench`` of bench_tick.py and bench_cli.py, alone in a module so that
the ``step`` bench_cli.py times loads nothing the benchmarks themselves need.

Its ``poll`` answers "still running" for every attempt without any I/O, so what is timed is
the orchestrator's and the store's own cost.
"""

from __future__ import annotations

from matterstack.core.status import AttemptStatus
from matterstack.plugins import hookimpl
from matterstack.plugins.interfaces import CollectResult, Observation, Operator, SubmitResult


class StillRunning(Operator):
    """Answers every poll with "still running"; never touches anything outside."""

    def prepare(self, attempt):
        pass

    def submit(self, attempt):
        return SubmitResult(external_id=attempt.attempt_id)

    def poll(self, attempts):
        return {a.attempt_id: Observation(AttemptStatus.RUNNING, external_id=a.external_id) for a in attempts}

    def reconcile(self, attempts):
        return {a.attempt_id: None for a in attempts}

    def collect(self, attempt):
        return CollectResult()

    def cancel(self, attempt):
        pass

    def describe_wait(self, attempt):
        return "running"


class BenchPlugin:
    """Registers the kind ``bench`` (:class:`StillRunning`) with a plugin host."""

    @hookimpl
    def matterstack_operator_kinds(self, register):
        register("bench", StillRunning)
