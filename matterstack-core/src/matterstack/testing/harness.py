"""The conformance kit's workbench: operators built the way a run builds them, attempts with
fresh tokens, and the waits every conformance test needs.

An operator comes from an ``operators.yaml`` document holding the one instance under test,
validated by :func:`matterstack.wiring.document.build_wiring` (so the settings go through
``structure_settings`` with their full key path) and built by an
:class:`~matterstack.orchestrator.operator_registry.OperatorRegistry` over the process's plugin host,
with an :class:`OperatorContext` on a temporary run directory. Every registry the harness
makes is closed, and every attempt it submitted and saw no end of is cancelled, at teardown.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import attrs

from matterstack.core.ids import chronological_id
from matterstack.core.status import AttemptStatus
from matterstack.errors import MatterStackError
from matterstack.plugins.interfaces import AttemptContext, Observation, Operator, OperatorContext

RUN_ID = "20260101_000000_c0f0a0ce"
WORKSPACE = "conformance"
SETTINGS_FILE = "operators.yaml"


def operators_document(key: str, block: dict[str, Any]) -> dict[str, Any]:
    """The operators.yaml document that configures ``key`` with ``block`` and routes to it."""
    kind = key.split(".", 1)[0]
    return {"defaults": {"operator": key}, "operators": {key: {"kind": kind, **block}}}


def build_operator_wiring(key: str, block: dict[str, Any], host):
    """The validated wiring of ``key`` configured by ``block``; one ConfigError if it is not valid."""
    from matterstack.wiring.document import build_wiring

    return build_wiring(operators_document(key, block), host=host, filename=SETTINGS_FILE,
                        source="the conformance kit")


def make_registry(wiring, host, context: OperatorContext):
    """An operator registry over ``wiring`` whose operators get ``context``, as a run's does."""
    from matterstack.testing.outage import PinnableRegistry

    return PinnableRegistry(wiring, host, lambda: context)


@attrs.define
class Submitted:
    """One attempt the harness submitted: its context as the orchestrator would now hold it."""

    context: AttemptContext
    outcome: str
    status: AttemptStatus = AttemptStatus.SUBMITTED
    last: Observation | None = None


class ConformanceHarness:
    """Builds operators for one key and drives attempts through them (see the module doc)."""

    def __init__(self, key: str, block: dict[str, Any], folder: Path, make_task: Callable[..., Any],
                 *, timeout: float, poll_interval: float,
                 make_unavailable: Callable[[Operator], AbstractContextManager[Operator]] | None = None):
        from matterstack.plugins.host import get_plugin_host

        self.key = key
        self.block = dict(block)
        self.folder = Path(folder)
        self.make_task = make_task
        self.make_unavailable = make_unavailable
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.host = get_plugin_host()
        self.run_dir = self.folder / "workspaces" / WORKSPACE / "runs" / RUN_ID
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._registries: list = []
        self._live: dict[str, tuple[Operator, Submitted]] = {}

    @property
    def context(self) -> OperatorContext:
        """What the operator factory gets: this harness's run."""
        return OperatorContext(run_id=RUN_ID, run_dir=self.run_dir, workspace_slug=WORKSPACE, host=self.host)

    def new_operator(self, block: dict[str, Any] | None = None) -> Operator:
        """A fresh operator for the key configured by ``block`` (default: the test's settings),
        built as a run builds it, through a new registry each time."""
        wiring = build_operator_wiring(self.key, self.block if block is None else block, self.host)
        registry = make_registry(wiring, self.host, self.context)
        self._registries.append(registry)
        return registry.get(self.key)

    def attempt(self, outcome: str, label: str = "task") -> AttemptContext:
        """A new attempt, with a fresh token, of a task that ends as ``outcome`` says."""
        attempt_id = chronological_id()  # named as a run names attempts, so backends see that shape
        task_id = f"{label}-{outcome}-{attempt_id[-8:]}"
        task = self.make_task(task_id, outcome=outcome)
        return AttemptContext(
            attempt_id=attempt_id, task=task, run_id=RUN_ID, run_dir=self.run_dir,
            attempt_dir=self.run_dir / "tasks" / task.task_id / "attempts" / attempt_id,
            operator_key=self.key,
        )

    def submit(self, operator: Operator, context: AttemptContext, outcome: str) -> Submitted:
        """``prepare`` + ``submit``, and the context the orchestrator would record after it."""
        operator.prepare(context)
        result = operator.submit(context)
        context = attrs.evolve(context, external_id=result.external_id,
                               operator_data={**context.operator_data, **dict(result.operator_data)})
        submitted = Submitted(context, outcome, AttemptStatus(result.status))
        self._live[context.attempt_id] = (operator, submitted)
        return submitted

    def observe(self, operator: Operator, submitted: Iterable[Submitted]) -> dict[str, Observation]:
        """One ``poll`` for all of ``submitted``, folded into each one's state."""
        by_id = {s.context.attempt_id: s for s in submitted}
        seen = operator.poll([s.context for s in by_id.values()])
        unknown = sorted(set(seen) - set(by_id))
        if unknown:
            raise AssertionError(f"poll answered for attempts it was not asked about: {unknown}")
        for attempt_id, observation in seen.items():
            entry = by_id[attempt_id]
            entry.last = observation
            entry.status = AttemptStatus(observation.status)
            if observation.external_id and observation.external_id != entry.context.external_id:
                entry.context = attrs.evolve(entry.context, external_id=observation.external_id)
            if entry.status.is_terminal:
                self._live.pop(attempt_id, None)
        return seen

    def poll_until(self, operator: Operator, submitted: list[Submitted],
                   done: Callable[[Submitted], bool] = lambda s: s.status.is_terminal, what: str = "a terminal status"):
        """Poll all of ``submitted`` in one call per round until ``done`` holds for each."""
        deadline = time.monotonic() + self.timeout
        while True:
            self.observe(operator, [s for s in submitted if not done(s)])
            waiting = [s for s in submitted if not done(s)]
            if not waiting:
                return
            if time.monotonic() > deadline:
                states = ", ".join(f"{s.context.task.task_id}: {s.status.value} ({s.last.reason if s.last else 'no answer'})"
                                   for s in waiting)
                raise AssertionError(f"{self.key}: not {what} after {self.timeout:g} s: {states}")
            time.sleep(self.poll_interval)

    def reconcile_until_found(self, operator: Operator, attempts: list[AttemptContext],
                              wanted: AttemptContext) -> dict[str, Observation | None]:
        """``reconcile`` until it answers for ``wanted`` or the timeout passes: work started by a
        process that died may show outside a moment later (a detached job claims its folder
        after its launcher is gone)."""
        deadline = time.monotonic() + self.timeout
        while True:
            found = operator.reconcile(attempts)
            if found.get(wanted.attempt_id) is not None or time.monotonic() > deadline:
                return found
            time.sleep(self.poll_interval)

    def adopt(self, operator: Operator, context: AttemptContext, observation: Observation, outcome: str) -> Submitted:
        """Take over an attempt ``reconcile`` found, with the external id it reported."""
        context = attrs.evolve(context, external_id=observation.external_id or context.external_id)
        submitted = Submitted(context, outcome, AttemptStatus(observation.status), observation)
        self._live[context.attempt_id] = (operator, submitted)
        return submitted

    @contextlib.contextmanager
    def unavailable(self, operator: Operator) -> Iterator[Operator]:
        """While open, ``operator``'s outside system cannot be reached; yields the operator to use
        meanwhile. The test class's ``unavailable`` makes the outage; without one, the kit's
        FAKE :class:`~matterstack.testing.outage.UnreachableOperator` around ``operator``."""
        if self.make_unavailable is None:
            from matterstack.testing.outage import UnreachableOperator

            yield UnreachableOperator(operator)
            return
        with self.make_unavailable(operator) as down:
            yield down

    def token(self) -> str:
        """A short fresh name."""
        return uuid.uuid4().hex[:8]

    def tick_run(self, task):
        """A real run of ``task`` routed to the key by an operators.yaml (see :mod:`.tick_run`)."""
        from matterstack.testing.tick_run import TickRun

        run = TickRun(self.key, self.block, task, self.folder / f"tick-{self.token()}", self.host,
                      timeout=self.timeout, poll_interval=self.poll_interval)
        self._registries.append(run.registry)
        return run

    def crash_after_submit(self, context: AttemptContext) -> subprocess.CompletedProcess:
        """Prepare and submit ``context`` in a child process that builds its own operator and
        SIGKILLs itself right after ``submit`` returns, before anything is recorded."""
        spec = self.folder / f"crash-{context.attempt_id}.pickle"
        spec.write_bytes(pickle.dumps({"key": self.key, "block": self.block, "context": self.context_fields(),
                                       "attempt": context}))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        done = subprocess.run([sys.executable, "-m", "matterstack.testing.crash_child", str(spec)],
                              capture_output=True, text=True, env=env, timeout=max(self.timeout, 60) * 2)
        if done.returncode != -signal.SIGKILL:
            raise AssertionError(f"the child meant to die by SIGKILL after submit exited {done.returncode}:\n"
                                 f"{done.stdout}{done.stderr}")
        return done

    def context_fields(self) -> dict[str, Any]:
        """The run of the operator context, as plain values (for a child process)."""
        return {"run_id": RUN_ID, "run_dir": str(self.run_dir), "workspace_slug": WORKSPACE}

    def close(self) -> None:
        """Cancel what is still running, then release every operator's connections."""
        problems = []
        for operator, submitted in list(self._live.values()):
            try:
                operator.cancel(submitted.context)
            except (MatterStackError, OSError) as exc:
                problems.append(f"{submitted.context.task.task_id}: {exc}")
        self._live.clear()
        for registry in self._registries:
            registry.close()
        if problems:
            raise AssertionError(f"{self.key}: attempts left running could not be cancelled: {'; '.join(problems)}")
