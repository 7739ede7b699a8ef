"""What the wiring tests share: in-test plugins (registered with ``host.pm.register``, like
any plugin), small campaigns, and runs ticked in-process over real SQLite files."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import attrs

from matterstack import Campaign, Task, Workflow
from matterstack.core.status import AttemptStatus
from matterstack.orchestrator.api import build_registry, initialize_run, step_once
from matterstack.plugins import CollectResult, Operator, SubmitResult, hookimpl, setting
from matterstack.store import StateStore


class WaitingOperator(Operator):
    """An operator whose attempts wait for someone who never answers (WAITING_EXTERNAL)."""

    def prepare(self, attempt):
        attempt.attempt_dir.mkdir(parents=True, exist_ok=True)

    def submit(self, attempt):
        return SubmitResult(external_id=None, status=AttemptStatus.WAITING_EXTERNAL, reason=f"waiting on {self.key}")

    def poll(self, attempts):
        return {}

    def reconcile(self, attempts):
        return {a.attempt_id: None for a in attempts}

    def collect(self, attempt):
        return CollectResult()

    def cancel(self, attempt):
        pass

    def describe_wait(self, attempt):
        return f"an answer on {self.key}"


@attrs.frozen
class LabQueueSettings:
    """Settings of the in-test backend type ``labq``."""

    queue: str = setting(help="the lab's queue")
    priority: int = setting(0, help="queue priority")


@attrs.frozen
class BatchKindSettings:
    """Settings of the in-test kind ``batch``: a third-party kind that takes a backend."""

    backend: dict | None = setting(None, help="the compute backend block")
    retries: int = setting(0, help="resubmissions")


class WaitingKinds:
    """In-test plugin: kinds whose operators wait forever (``approval`` by default), plus the
    third-party kind ``batch`` (takes a backend) and backend type ``labq``."""

    def __init__(self, kinds=("approval",)):
        self.kinds = kinds

    @hookimpl
    def matterstack_operator_kinds(self, register):
        for kind in self.kinds:
            register(kind, WaitingOperator)
        register("batch", WaitingOperator, settings=BatchKindSettings)

    @hookimpl
    def matterstack_compute_backends(self, register):
        register("labq", lambda settings, context: None, settings=LabQueueSettings)


CHECKED: list[str] = []


@attrs.frozen
class CountedSettings:
    """Settings of the in-test backend ``counted``: each check of ``queue`` is remembered in
    :data:`CHECKED`, so a test can count how often a block is validated."""

    queue: str = setting(help="the queue", validator=CHECKED.append)


class CountedBackend:
    """In-test plugin: the backend type ``counted``, built as its settings say."""

    @hookimpl
    def matterstack_compute_backends(self, register):
        register("counted", lambda settings, context: SimpleNamespace(settings=settings, close=lambda: None),
                 settings=CountedSettings)


class Tasks(Campaign):
    """One iteration of the given tasks; done after it."""

    def __init__(self, tasks):
        self.tasks = list(tasks)

    def plan(self, state):
        return Workflow(self.tasks) if state is None else None

    def analyze(self, state, results):
        return {"done": sorted(results)}


def shell_task(task_id: str, key: str | None = None, command: str = "pwd > where.txt", **kwargs) -> Task:
    """A compute task that records the folder it ran in (``where.txt``)."""
    return Task(task_id=task_id, command=command, operator_key=key, **kwargs)


@attrs.define
class Run:
    """A run ticked in this process with a given registry."""

    handle: object
    campaign: object
    registry: object

    @classmethod
    def start(cls, tmp_path: Path, campaign, wiring, host, run_id: str = "run1") -> "Run":
        handle = initialize_run("ws", campaign, base_path=tmp_path / "workspaces", run_id=run_id)
        return cls(handle, campaign, build_registry(handle, wiring, host=host))

    def tick(self):
        return step_once(self.handle, self.campaign, self.registry)

    def tick_until(self, predicate, max_ticks: int = 400):
        for _ in range(max_ticks):
            report = self.tick()
            if predicate(self) or report.status.is_terminal:
                return report
            time.sleep(0.02)
        raise AssertionError(f"condition not reached: {self.statuses()}")

    def store(self) -> StateStore:
        return StateStore.open(self.handle.db_path, readonly=True)

    def statuses(self) -> dict[str, str]:
        with self.store() as store:
            return {t: s.value for t, s in store.task_statuses().items()}

    def attempts(self, task_id: str) -> list:
        with self.store() as store:
            return store.attempts_for_task(task_id)

    def active_by_key(self) -> dict:
        with self.store() as store:
            return store.active_attempt_counts()
