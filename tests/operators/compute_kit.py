"""What the compute operator tests share: a run of plain tasks on the built-in kinds, driven
tick by tick until it ends, and a few waits on real processes."""

from __future__ import annotations

import time
from pathlib import Path

import attrs
from process_watch import wait_for

from matterstack import Campaign, Workflow
from matterstack.orchestrator.api import step_once
from matterstack.store import StateStore


class OneIteration(Campaign):
    """Runs the given tasks once; ``results`` keeps what analyze was given."""

    def __init__(self, tasks):
        self.tasks = list(tasks)
        self.results = None

    def plan(self, state):
        return Workflow(self.tasks) if state is None else None

    def analyze(self, state, results):
        self.results = results
        return {"done": True}


@attrs.define
class LocalRun:
    handle: object
    campaign: OneIteration
    registry: object

    def tick(self):
        return step_once(self.handle, self.campaign, self.registry)

    def until_done(self, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            report = self.tick()
            if report.status.is_terminal:
                return report.status
            if not (report.submitted or report.finished or report.planned):
                time.sleep(0.02)
        raise AssertionError("the run did not finish in time")

    def attempts(self, task_id: str):
        with StateStore.open(self.handle.db_path, readonly=True) as store:
            return store.attempts_for_task(task_id)

    def attempt(self, task_id: str):
        return self.attempts(task_id)[-1]

    def attempt_dir(self, task_id: str) -> Path:
        return self.handle.root_path / self.attempt(task_id).relative_path


def read_pid(path: Path) -> int:
    """The first number in ``path``, once the file exists and holds one."""
    return int(wait_for(lambda: path.exists() and path.read_text().split(), what=f"{path.name}")[0])
