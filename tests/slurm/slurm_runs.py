"""Runs of a small campaign on the test clusters: a workspace whose ``main.py`` plans the
tasks of ``tasks.json`` once, wired by an ``operators.yaml`` of ``hpc`` instances with slurm
backends that is snapshotted into the run (as ``init --operators-config`` does), so the
installed ``matterstack`` command (``step``, ``loop``, ``cancel``, ``rerun``, ``attempts``)
uses it; ticks can also run in-process through the orchestrator's public API."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from matterstack.orchestrator.api import build_registry, initialize_run, step_once
from matterstack.orchestrator.workspace import load_campaign
from matterstack.wiring import load_run_wiring

MAIN_PY = '''\
import json
from pathlib import Path

from matterstack import Campaign, Task, Workflow

TASKS = json.loads((Path(__file__).parent / "tasks.json").read_text())


class OneRound(Campaign):
    def plan(self, state):
        if state:
            return None
        workflow = Workflow()
        for fields in TASKS:
            workflow.add_task(Task(**fields))
        return workflow

    def analyze(self, state, results):
        return {"finished": sorted(results)}


def get_campaign():
    return OneRound()
'''

MATTERSTACK = Path(sys.executable).parent / "matterstack"


def write_operators_yaml(path: Path, instances: dict[str, dict]) -> Path:
    """An operators.yaml with ``local.default`` and ``hpc`` instances (key → backend block)."""
    operators = {"local.default": {"kind": "local"},
                 **{key: {"kind": "hpc", "backend": block} for key, block in instances.items()}}
    path.write_text(yaml.safe_dump({"defaults": {"operator": next(iter(instances))}, "operators": operators}))
    return path


class SlurmRun:
    """One run of the campaign in ``folder`` with ``tasks``, on ``instances``."""

    def __init__(self, folder: Path, tasks: list[dict], instances: dict[str, dict], env: dict):
        self.workspace = folder / "workspace"
        self.workspace.mkdir(parents=True)
        (self.workspace / "main.py").write_text(MAIN_PY)
        (self.workspace / "tasks.json").write_text(json.dumps(tasks))
        self.operators_yaml = write_operators_yaml(folder / "operators.yaml", instances)
        self.env = env
        self.campaign = load_campaign(self.workspace)
        self.handle = initialize_run("workspace", self.campaign, workspace_path=self.workspace)
        load_run_wiring(self.handle, operators_config=self.operators_yaml)
        self.registry = build_registry(self.handle)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run the installed ``matterstack`` command (``{run}`` in ``args`` is this run's folder)."""
        argv = [str(MATTERSTACK), *(a.replace("{run}", str(self.handle.root_path)) for a in args)]
        done = subprocess.run(argv, capture_output=True, text=True, env=self.env, cwd=self.workspace, timeout=600)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def step(self):
        return step_once(self.handle, self.campaign, self.registry)

    def store(self):
        from matterstack.store import StateStore

        return StateStore.open(self.handle.db_path)

    def attempts(self, task_id: str):
        with self.store() as store:
            return store.attempts_for_task(task_id)

    def all_attempts(self):
        with self.store() as store:
            return [a for task in store.task_statuses() for a in store.attempts_for_task(task)]

    def run_status(self) -> str:
        with self.store() as store:
            return store.get_run().status.value

    def step_until(self, done, timeout: float = 120, pause: float = 0.3):
        """Step until ``done(self)`` is true; return the notes of every tick."""
        notes = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            notes += list(self.step().notes)
            if done(self):
                return notes
            time.sleep(pause)
        raise AssertionError(f"not done after {timeout} s; attempts: {self.all_attempts()}; notes: {notes[-5:]}")

    def step_process(self) -> subprocess.Popen:
        """``matterstack step`` on this run, in a process of its own (to be killed)."""
        return subprocess.Popen([str(MATTERSTACK), "step", str(self.handle.root_path)], env=self.env,
                                cwd=self.workspace, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def close(self) -> None:
        self.registry.close()
