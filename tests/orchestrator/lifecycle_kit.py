"""What the run lifecycle tests share: an in-test operator kind whose outcomes the test
decides (``ScriptedKinds``, registered with ``host.pm.register(...)`` like any plugin; its
operators act on one :class:`ScriptedWorld`, which records every call), a small campaign,
and a run under test with the reads tests make."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs

from matterstack import Campaign, Workflow
from matterstack.core.status import AttemptStatus
from matterstack.orchestrator.api import step_once
from matterstack.wiring.model import InstanceConfig, Wiring
from matterstack.plugins import CollectResult, Observation, Operator, SubmitResult, hookimpl
from matterstack.store import StateStore


class ScriptedWorld:
    """The outside world of scripted attempts: outcomes are set by the test, calls recorded.

    An attempt's outcome is looked up by attempt id, then by task id, then ``default``
    (``None``: the attempt stays SUBMITTED until the test decides).
    """

    def __init__(self):
        self.outcomes: dict[str, AttemptStatus] = {}
        self.task_outcomes: dict[str, AttemptStatus] = {}
        self.default: AttemptStatus | None = AttemptStatus.COMPLETED
        self.poll_calls: list[tuple[str, tuple[str, ...]]] = []
        self.submitted: list[tuple[str, str]] = []
        self.cancelled: list[str] = []
        self.poll_errors: dict[str, Exception] = {}
        self.submit_errors: dict[str, Exception] = {}
        self.poll_in_worker_threads = False

    def outcome(self, attempt) -> AttemptStatus | None:
        if attempt.attempt_id in self.outcomes:
            return self.outcomes[attempt.attempt_id]
        return self.task_outcomes.get(attempt.task.task_id, self.default)

    def polls_by_key(self) -> Counter:
        return Counter(key for key, _ in self.poll_calls)

    def submitted_tokens(self) -> set[str]:
        return {token for _, token in self.submitted}


class ScriptedOperator(Operator):
    """An operator whose external system is a :class:`ScriptedWorld`."""

    def __init__(self, key, settings, context, world: ScriptedWorld):
        super().__init__(key, settings, context)
        self.world = world

    def prepare(self, attempt):
        attempt.attempt_dir.mkdir(parents=True, exist_ok=True)

    def submit(self, attempt):
        error = self.world.submit_errors.get(attempt.task.task_id)
        if error is not None:
            raise error
        if attempt.attempt_id not in self.world.submitted_tokens():
            self.world.submitted.append((self.key, attempt.attempt_id))
        return SubmitResult(external_id=f"ext-{attempt.attempt_id}", reason=f"scripted on {self.key}")

    def poll(self, attempts):
        self.world.poll_calls.append((self.key, tuple(a.attempt_id for a in attempts)))
        error = self.world.poll_errors.get(self.key)
        if error is not None:
            raise error
        if self.world.poll_in_worker_threads:  # as an operator asking a remote service would
            with ThreadPoolExecutor(max_workers=4) as pool:
                statuses = list(pool.map(self.world.outcome, attempts))
        else:
            statuses = [self.world.outcome(attempt) for attempt in attempts]
        answers = {}
        for attempt, status in zip(attempts, statuses):
            if status is not None:
                answers[attempt.attempt_id] = Observation(status, external_id=attempt.external_id,
                                                          reason=f"scripted {status.value}")
        return answers

    def reconcile(self, attempts):
        known = self.world.submitted_tokens()
        return {a.attempt_id: Observation(AttemptStatus.SUBMITTED, external_id=f"ext-{a.attempt_id}")
                if a.attempt_id in known else None for a in attempts}

    def collect(self, attempt):
        (attempt.attempt_dir / "result.txt").write_text(attempt.task.task_id)
        return CollectResult(files={"result.txt": "result.txt"}, data={"task": attempt.task.task_id})

    def cancel(self, attempt):
        self.world.cancelled.append(attempt.attempt_id)

    def describe_wait(self, attempt):
        return f"scripted job {attempt.external_id} on {self.key}"


class ScriptedKinds:
    """An in-test plugin registering operator kinds whose operators act on one world."""

    def __init__(self, world: ScriptedWorld, kinds=("scripted",)):
        self.world = world
        self.kinds = kinds

    @hookimpl
    def matterstack_operator_kinds(self, register):
        for kind in self.kinds:
            register(kind, self.build)

    def build(self, key, settings, context):
        return ScriptedOperator(key, settings, context, self.world)


class Campaignish(Campaign):
    """A campaign of fixed iterations: ``plan(None)`` is the first workflow, each later
    ``plan`` the next one, then None. ``analyze`` counts iterations and keeps statuses."""

    def __init__(self, *iterations):
        self.iterations = [list(tasks) for tasks in iterations]
        self.analyzed: list[dict] = []

    def plan(self, state):
        index = 0 if state is None else state["iteration"]
        if index >= len(self.iterations):
            return None
        return Workflow(self.iterations[index])

    def analyze(self, state, results):
        self.analyzed.append(results)
        iteration = (state or {}).get("iteration", 0) + 1
        return {"iteration": iteration, "statuses": {t: r["status"] for t, r in results.items()}}


@attrs.define
class RunUnderTest:
    """A run, its campaign and registry, with the reads tests make."""

    handle: object
    campaign: object
    registry: object

    def tick(self):
        return step_once(self.handle, self.campaign, self.registry)

    def tick_until_done(self, max_ticks: int = 200, interval: float = 0.0):
        for _ in range(max_ticks):
            report = self.tick()
            if report.status.is_terminal:
                return report.status
            if interval and not (report.submitted or report.finished or report.planned):
                time.sleep(interval)
        raise AssertionError(f"run not finished after {max_ticks} ticks: {self.statuses()}")

    def store(self) -> StateStore:
        return StateStore.open(self.handle.db_path, readonly=True)

    def run(self):
        with self.store() as store:
            return store.get_run()

    def statuses(self) -> dict:
        with self.store() as store:
            return {t: s.value for t, s in store.task_statuses().items()}

    def attempts(self, task_id: str) -> list:
        with self.store() as store:
            return store.attempts_for_task(task_id)

    def attempt(self, task_id: str):
        return self.attempts(task_id)[-1]

    def attempt_dir(self, task_id: str, index: int = -1) -> Path:
        return self.handle.root_path / self.attempts(task_id)[index].relative_path


def wiring_of(host, *keys: str, default: str | None = None, max_concurrent: int | None = None) -> Wiring:
    """A wiring with one instance per key (kind = the key's prefix, default settings)."""
    instances = {}
    for key in keys:
        kind = key.split(".", 1)[0]
        registration = host.operator_kinds.get(kind)
        settings = registration.settings() if registration is not None else None
        instances[key] = InstanceConfig(key=key, kind=kind, settings=settings)
    return Wiring(instances=instances, default_operator=default or keys[0], max_concurrent=max_concurrent,
                  source="test wiring")


