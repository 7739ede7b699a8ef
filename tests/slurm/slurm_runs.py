"""Runs of a small campaign on the test clusters, driven like a user drives them: a workspace
whose ``main.py`` plans the tasks of ``tasks.json`` once, an ``operators.yaml`` of ``hpc``
instances with slurm backends, ``matterstack init <workspace> --operators-config
operators.yaml``, then ``step``, ``loop``, ``cancel``, ``rerun`` and ``attempts`` of the
installed ``matterstack`` command in subprocesses. Tests look at the outcome through the
state database (read-only) and ``attempts --json``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from matterstack.store import StateStore

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
RUN_ENDED = 1
"""``step`` and ``loop`` exit with this when the run ended FAILED or CANCELLED."""


def write_operators_yaml(path: Path, instances: dict[str, dict]) -> Path:
    """An operators.yaml with ``local.default`` and ``hpc`` instances (key → backend block)."""
    operators = {"local.default": {"kind": "local"},
                 **{key: {"kind": "hpc", "backend": block} for key, block in instances.items()}}
    path.write_text(yaml.safe_dump({"defaults": {"operator": next(iter(instances))}, "operators": operators}))
    return path


class SlurmRun:
    """One run of the campaign in ``folder`` with ``tasks``, on ``instances``, made by
    ``matterstack init``; ``{run}`` in command arguments stands for its folder."""

    def __init__(self, folder: Path, tasks: list[dict], instances: dict[str, dict], env: dict):
        self.workspace = folder / "workspace"
        self.workspace.mkdir(parents=True)
        (self.workspace / "main.py").write_text(MAIN_PY)
        (self.workspace / "tasks.json").write_text(json.dumps(tasks))
        self.operators_yaml = write_operators_yaml(folder / "operators.yaml", instances)
        self.env = env
        created = self.cli("init", str(self.workspace), "--operators-config", str(self.operators_yaml))
        self.root = Path(created.stdout.strip().split(" created in ", 1)[1])

    def _argv(self, args) -> list[str]:
        run = str(getattr(self, "root", ""))  # before ``init`` has made the run, no argument names it
        return [str(MATTERSTACK), *(a.replace("{run}", run) for a in args)]

    def cli(self, *args: str, codes: tuple[int, ...] = (0,), timeout: float = 600) -> subprocess.CompletedProcess:
        """Run the installed ``matterstack`` command; fail unless it exits with one of ``codes``."""
        done = subprocess.run(self._argv(args), capture_output=True, text=True, env=self.env,
                              cwd=self.workspace, timeout=timeout)
        if done.returncode not in codes:
            raise AssertionError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def step(self) -> list[str]:
        """``matterstack step``; the notes it printed."""
        done = self.cli("step", "{run}", codes=(0, RUN_ENDED))
        return [line.strip()[len("note: "):] for line in done.stdout.splitlines() if line.strip().startswith("note: ")]

    def loop(self, interval: float = 0.3, timeout: float = 600) -> subprocess.CompletedProcess:
        """``matterstack loop`` until the run ends (exit 0, or 1 for FAILED/CANCELLED)."""
        return self.cli("loop", "{run}", "--interval", str(interval), codes=(0, RUN_ENDED), timeout=timeout)

    def attempts_json(self, task_id: str) -> list[dict]:
        """``matterstack attempts <run> <task> --json``."""
        return json.loads(self.cli("attempts", "{run}", task_id, "--json").stdout)

    def store(self) -> StateStore:
        """The run's state database, read-only (no lock: ``step`` may run meanwhile)."""
        return StateStore.open(self.root / "state.sqlite", readonly=True)

    def attempts(self, task_id: str):
        with self.store() as store:
            return store.attempts_for_task(task_id)

    def all_attempts(self):
        with self.store() as store:
            return [a for task in store.task_statuses() for a in store.attempts_for_task(task)]

    def run_status(self) -> str:
        with self.store() as store:
            return store.get_run().status.value

    def step_until(self, done, timeout: float = 120, pause: float = 0.3) -> list[str]:
        """``matterstack step`` until ``done(self)`` is true; return the notes of every step."""
        notes = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            notes += self.step()
            if done(self):
                return notes
            time.sleep(pause)
        raise AssertionError(f"not done after {timeout} s; attempts: {self.all_attempts()}; notes: {notes[-5:]}")

    def step_process(self) -> subprocess.Popen:
        """``matterstack step`` on this run, in a process of its own (to be killed)."""
        return subprocess.Popen(self._argv(["step", "{run}"]), env=self.env, cwd=self.workspace,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
