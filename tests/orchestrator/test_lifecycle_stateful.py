"""A stateful property test of the run lifecycle: random small DAGs, random sequences of
ticks, attempt outcomes, pause/resume, reruns and cancellations, over a real state database.

Invariants: no terminal attempt status ever changes, every task's status follows its
current attempt, a task's attempt indexes are 1..N without gaps and at most one is active,
a paused run submits nothing, and SQLite's integrity check stays ``ok``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from lifecycle_kit import Campaignish, RunUnderTest, ScriptedKinds, ScriptedWorld, wiring_of

from matterstack import Task
from matterstack.core.status import AttemptStatus, RunStatus, TaskStatus
from matterstack.core.transitions import task_status_for_attempt
from matterstack.orchestrator import control
from matterstack.orchestrator.api import build_registry, initialize_run
from matterstack.plugins import PluginHost

_KINDS = ScriptedKinds(ScriptedWorld())
# Hundreds of short-lived runs: a memory-backed folder when there is one spares the disk
# the fsyncs of every checkpoint; SQLite, WAL and the lock behave the same there.
_SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
_HOSTS: list[PluginHost] = []


def _host() -> PluginHost:
    """One host for every example; each example gives the in-test kind a fresh world."""
    if not _HOSTS:
        host = PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": ""})
        host.pm.register(_KINDS, name="scripted-stateful")
        _HOSTS.append(host)
    return _HOSTS[0]


@st.composite
def small_dags(draw):
    """Up to five tasks; task i may depend on any earlier task and may allow failures."""
    size = draw(st.integers(1, 5))
    tasks = []
    for i in range(size):
        deps = draw(st.sets(st.integers(0, i - 1))) if i else set()
        tasks.append(Task(task_id=f"t{i}", dependencies={f"t{d}" for d in deps},
                          allow_failure=draw(st.booleans()), allow_dependency_failure=draw(st.booleans())))
    return tasks


class RunLifecycle(RuleBasedStateMachine):
    @initialize(tasks=small_dags(), default=st.sampled_from([None, AttemptStatus.COMPLETED]))
    def start(self, tasks, default):
        self.folder = Path(tempfile.mkdtemp(prefix="matterstack-stateful-", dir=_SCRATCH))
        self.world = _KINDS.world = ScriptedWorld()
        self.world.default = default  # None: attempts wait until a rule finishes them
        host = _host()
        campaign = Campaignish(tasks)
        handle = initialize_run("ws", campaign, base_path=self.folder, run_id="run")
        registry = build_registry(handle, wiring_of(host, "scripted.default"), host=host)
        self.run = RunUnderTest(handle, campaign, registry)
        self.terminal: dict[str, AttemptStatus] = {}
        self.status = self.run.tick().status  # refreshed after every step, read by preconditions

    def teardown(self):
        if hasattr(self, "folder"):
            self.run.registry.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    def _active(self):
        with self.run.store() as store:
            return store.active_attempts()

    @rule(times=st.integers(1, 3))
    def tick(self, times):
        paused = self.status == RunStatus.PAUSED
        before = len(self.world.submitted)
        for _ in range(times):
            self.run.tick()
        if paused:
            assert len(self.world.submitted) == before, "a paused run submitted new work"

    @rule(pick=st.integers(0, 9), outcome=st.sampled_from([AttemptStatus.COMPLETED, AttemptStatus.FAILED]))
    def finish_an_attempt(self, pick, outcome):
        active = self._active()
        if active:
            self.world.outcomes[active[pick % len(active)].attempt_id] = outcome

    @precondition(lambda self: self.status in (RunStatus.PENDING, RunStatus.RUNNING))
    @rule()
    def pause(self):
        control.pause(self.run.handle)

    @precondition(lambda self: self.status == RunStatus.PAUSED)
    @rule()
    def resume(self):
        control.resume(self.run.handle)

    @rule(pick=st.integers(0, 9), recursive=st.booleans())
    def rerun_a_finished_task(self, pick, recursive):
        statuses = self.run.statuses()
        with self.run.store() as store:
            busy = {a.task_id for a in store.active_attempts()}
            if recursive:
                finished = [t for t, s in statuses.items() if TaskStatus(s).is_terminal
                            and not busy & {t, *store.dependents(t, transitive=True)}]
            else:
                finished = [t for t, s in statuses.items() if TaskStatus(s).is_terminal and t not in busy]
        if finished:
            control.rerun(self.run.handle, self.run.registry, finished[pick % len(finished)], recursive=recursive)

    @rule(pick=st.integers(0, 9))
    def cancel_an_attempt(self, pick):
        active = self._active()
        if active:
            control.cancel_attempt(self.run.handle, self.run.registry, active[pick % len(active)].attempt_id)

    @invariant()
    def lifecycle_rules_hold(self):
        if not hasattr(self, "run"):
            return
        with self.run.store() as store:
            attempts = list(store.iter_attempts())
            current = list(store.tasks_with_current_attempts())
            integrity = store.integrity_check()
            self.status = store.get_run().status
        assert integrity == "ok"
        by_task = defaultdict(list)
        for attempt in attempts:
            by_task[attempt.task_id].append(attempt)
            if attempt.attempt_id in self.terminal:
                assert attempt.status == self.terminal[attempt.attempt_id], "a terminal attempt changed"
            elif attempt.status.is_terminal:
                self.terminal[attempt.attempt_id] = attempt.status
        for task_id, status, attempt in current:
            if attempt is not None:
                assert status == task_status_for_attempt(attempt.status), (task_id, status, attempt.status)
            else:
                assert status in (TaskStatus.PENDING, TaskStatus.SKIPPED, TaskStatus.CANCELLED), (task_id, status)
        for task_id, task_attempts in by_task.items():
            assert sorted(a.attempt_index for a in task_attempts) == list(range(1, len(task_attempts) + 1))
            assert sum(not a.status.is_terminal for a in task_attempts) <= 1


RunLifecycle.TestCase.settings = settings(
    max_examples=30, stateful_step_count=20, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRunLifecycle = RunLifecycle.TestCase
