"""Helpers of the ``experiment`` tests: attempts in a temporary run directory, a lab agent in
a subprocess, and the ``matterstack`` command run in a project folder as a user does."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from installs import clean_env, run

from matterstack import ExternalTask, Task
from matterstack.plugins import AttemptContext, OperatorContext
from matterstack.store import StateStore
from matterstack_ops_experiment.operator import ExperimentOperator
from matterstack_ops_experiment.register import ExperimentSettings, LabApiSettings

REPO = Path(__file__).resolve().parents[2]
THIN_FILM = REPO / "examples" / "thin_film"
LEGACY = REPO / "tests" / "fixtures" / "legacy-runs"
MATTERSTACK = str(Path(sys.executable).parent / "matterstack")
RUN_ID = "20261124_120000_0000beef"
LAB_TOKEN = "lab-secret-7f3a9c"
TOKEN_ENV = "MATTERSTACK_TEST_LAB_TOKEN"
PLUGINS = "matterstack-ops-experiment"
SIMULATED = "matterstack_ops_experiment.simulated"

COUNTING_DRIVER = '''
import os
import time
from pathlib import Path

from matterstack_ops_experiment.simulated import recipe_of, thin_film


def counted(request, workdir):
    """thin_film, after noting the call in $DRIVER_LOG and waiting (at most 30 s) for the
    file named by the recipe's ``gate``, else by $DRIVER_GATE, when there is one."""
    with open(os.environ["DRIVER_LOG"], "a") as log:
        log.write(request["token"] + "\\n")
        log.flush()
        os.fsync(log.fileno())
    recipe = recipe_of(request)
    gate = recipe.get("gate") or os.environ.get("DRIVER_GATE")
    deadline = time.monotonic() + 30
    while gate and not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    if recipe.get("fault"):
        raise RuntimeError(recipe["fault"])
    return thin_film(request, workdir)
'''


def film_task(task_id: str = "synthesize", **recipe) -> ExternalTask:
    """An ExternalTask asking for one film (120 s at 100 C unless ``recipe`` says otherwise)."""
    data = {"deposition_time_s": 120, "temperature_c": 100, **recipe}
    return ExternalTask(task_id=task_id, request_data=data, files={"recipe.txt": "Cu film\n"},
                        env={"EXPERIMENT_CONFIG": json.dumps({"instrument": "sputter-1"})})


def plain_task(task_id: str = "measure", **files) -> Task:
    return Task(task_id=task_id, command="echo measure", files=files,
                env={"EXPERIMENT_CONFIG": json.dumps({"instrument": "xrd-1"})})


def attempt_in(run_dir: Path, task, attempt_id: str = "a1", **changes) -> AttemptContext:
    """An attempt of ``task`` whose directory is ``tasks/<task>/attempts/<attempt_id>``."""
    values = dict(attempt_id=attempt_id, task=task, run_id=RUN_ID, run_dir=run_dir,
                  attempt_dir=run_dir / "tasks" / task.task_id / "attempts" / attempt_id,
                  operator_key="experiment.default")
    values.update(changes)
    return AttemptContext(**values)


def operator_context(run_dir: Path) -> OperatorContext:
    return OperatorContext(run_id=RUN_ID, run_dir=run_dir, workspace_slug="demo", host=None)


def http_operator(run_dir, url: str) -> ExperimentOperator:
    """``experiment.lab`` talking to the lab API at ``url``, token from ``$MATTERSTACK_TEST_LAB_TOKEN``."""
    settings = ExperimentSettings(api=LabApiSettings(base_url=url, token_env=TOKEN_ENV))
    return ExperimentOperator("experiment.lab", settings, operator_context(run_dir))


def write_result(folder: Path, document) -> None:
    """Write ``experiment_result.json`` by hand: a dict as JSON, text or bytes as they are."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "experiment_result.json"
    if isinstance(document, bytes):
        path.write_bytes(document)
    else:
        path.write_text(document if isinstance(document, str) else json.dumps(document))


class AgentProcess:
    """``matterstack experiment agent`` in a subprocess, its output in ``<exchange_dir>.log``;
    it stops by itself after ``stop_after`` seconds."""

    def __init__(self, exchange_dir: Path, driver: str, *, env: dict, http: bool = False, stop_after: float = 60):
        args = [MATTERSTACK, "experiment", "agent", "--exchange-dir", str(exchange_dir), "--driver", driver,
                "--poll-interval", "0.05", "--stop-after", str(stop_after)]
        if http:
            args += ["--http-port", "0"]
        self.log = exchange_dir.with_name(exchange_dir.name + ".log")
        with self.log.open("w") as out:
            self.process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        wait_until(self._watching, timeout=30)
        self.url = next((line.split("listening on ", 1)[1] for line in self.output().splitlines()
                         if "listening on " in line), None)

    def _watching(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the agent exited {self.process.returncode}: {self.output()}")
        return any(line.startswith("watching ") for line in self.output().splitlines())

    def output(self) -> str:
        return self.log.read_text()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> str:
        """Stop the agent (if still running) and return what it printed."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=10)
        return self.output()


def agent_env(tmp_path: Path, **extra: str) -> dict:
    """The environment of an agent that can load ``counting_driver:counted`` (calls logged in
    ``<tmp_path>/driver.log``)."""
    drivers = tmp_path / "drivers"
    drivers.mkdir(exist_ok=True)
    (drivers / "counting_driver.py").write_text(COUNTING_DRIVER)
    return clean_env(PYTHONPATH=str(drivers), DRIVER_LOG=str(tmp_path / "driver.log"), **extra)


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.02):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")


class Project:
    """A project folder with ``workspaces/``, driven through the ``matterstack`` command, with
    only the experiment plugin distribution loaded (``plugins=None``: every installed one)."""

    def __init__(self, folder: Path, plugins: str | None = PLUGINS, **env: str):
        self.folder = folder
        self.workspaces = folder / "workspaces"
        self.workspaces.mkdir(parents=True, exist_ok=True)
        self.env = clean_env(**env) if plugins is None else clean_env(MATTERSTACK_LOAD_PLUGINS=plugins, **env)

    def add_thin_film(self) -> Path:
        return Path(shutil.copytree(THIN_FILM, self.workspaces / "thin_film"))

    def add_legacy(self, version: str) -> None:
        for workspace in (LEGACY / version).iterdir():
            if workspace.name != "expected":
                shutil.copytree(workspace, self.workspaces / workspace.name)
        for path in [self.workspaces, *self.workspaces.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)

    def ms(self, *args: str):
        return run([MATTERSTACK, *args], env=self.env, cwd=self.folder)

    def ok(self, *args: str) -> str:
        result = self.ms(*args)
        assert result.returncode == 0, f"matterstack {' '.join(args)}: {result.stdout}{result.stderr}"
        return result.stdout

    def loop_in_background(self, run_id: str) -> subprocess.Popen:
        """``matterstack loop <run>`` in a subprocess (it ends when the run does)."""
        log = (self.folder / f"loop-{run_id}.log").open("w")
        with log:
            return subprocess.Popen([MATTERSTACK, "loop", run_id, "--interval", "0.05"], env=self.env,
                                    cwd=self.folder, stdout=log, stderr=subprocess.STDOUT)

    def init(self, workspace: str) -> str:
        return self.ok("init", workspace).split()[1]

    def run_dir(self, run_id: str) -> Path:
        (found,) = self.workspaces.glob(f"*/runs/{run_id}")
        return found

    def attempts(self, run_id: str, task: str) -> list:
        with StateStore.open(self.run_dir(run_id) / "state.sqlite", readonly=True) as store:
            return store.attempts_for_task(task)

    def status(self, run_id: str) -> str:
        with StateStore.open(self.run_dir(run_id) / "state.sqlite", readonly=True) as store:
            return store.get_run().status.value
