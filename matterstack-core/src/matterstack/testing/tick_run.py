"""A real run for the conformance kit: one task, routed to the key under test by an
``operators.yaml`` that is snapshotted into the run (as ``init --operators-config`` does), and
stepped in-process through the orchestrator's public API (``step_once``), with a real SQLite
state store and ``explain``."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from matterstack.core.campaign import Campaign
from matterstack.core.workflow import Workflow
from matterstack.orchestrator.api import initialize_run, step_once
from matterstack.orchestrator.explain import Explanation, explain
from matterstack.orchestrator.tickstate import TickState
from matterstack.plugins.interfaces import AttemptContext, OperatorContext
from matterstack.store import StateStore
from matterstack.testing.harness import WORKSPACE, make_registry, operators_document
from matterstack.wiring import load_run_wiring


class OneTask(Campaign):
    """Plans one task once; the run ends when it does."""

    def __init__(self, task):
        self.task = task

    def plan(self, state):
        return Workflow([self.task]) if state is None else None

    def analyze(self, state, results):
        return {"status": results[self.task.task_id]["status"]}


class TickRun:
    """One run of ``task`` on ``key`` configured by ``block``, under ``folder``."""

    def __init__(self, key: str, block: dict, task, folder: Path, host, *, timeout: float, poll_interval: float):
        self.key = key
        self.task = task
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.campaign = OneTask(task)
        folder.mkdir(parents=True, exist_ok=True)
        operators_yaml = folder / "operators.yaml"
        operators_yaml.write_text(yaml.safe_dump(operators_document(key, block), sort_keys=False))
        self.handle = initialize_run(WORKSPACE, self.campaign, base_path=folder / "workspaces")
        wiring = load_run_wiring(self.handle, operators_config=operators_yaml, host=host)
        context = OperatorContext(run_id=self.handle.run_id, run_dir=self.handle.root_path,
                                  workspace_slug=self.handle.workspace_slug, host=host)
        self.registry = make_registry(wiring, host, context)

    def tick(self):
        """One tick under the run lock; its report."""
        return step_once(self.handle, self.campaign, self.registry)

    def attempt(self):
        """The task's current attempt record, or None before it has one."""
        with StateStore.open(self.handle.db_path, readonly=True) as store:
            attempts = store.attempts_for_task(self.task.task_id)
        return attempts[-1] if attempts else None

    def context(self, attempt) -> AttemptContext:
        """The attempt as its operator sees it."""
        with StateStore.open(self.handle.db_path, readonly=True) as store:
            return TickState(handle=self.handle, store=store, registry=self.registry).contexts([attempt])[0]

    def explain(self) -> Explanation:
        """What ``matterstack explain`` says about the run now."""
        with StateStore.open(self.handle.db_path, readonly=True) as store:
            return explain(self.handle, store, self.registry)

    def run_status(self) -> str:
        with StateStore.open(self.handle.db_path, readonly=True) as store:
            return store.get_run().status.value

    def tick_until(self, done, what: str) -> list[str]:
        """Tick until ``done(self)``; the notes of every tick. Fails after the timeout."""
        notes: list[str] = []
        deadline = time.monotonic() + self.timeout
        while True:
            notes += list(self.tick().notes)
            if done(self):
                return notes
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.key}: not {what} after {self.timeout:g} s; attempt: {self.attempt()}; "
                                     f"notes: {notes[-5:]}")
            time.sleep(self.poll_interval)

    def close(self) -> None:
        self.registry.close()
