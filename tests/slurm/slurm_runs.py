"""Runs of a small campaign on the test clusters, driven like a user drives them: a workspace
whose ``main.py`` plans the tasks of ``tasks.json`` once, an ``operators.yaml`` of ``hpc``
instances with slurm backends, ``matterstack init <workspace> --operators-config
operators.yaml``, then ``step``, ``loop``, ``cancel``, ``rerun`` and ``attempts`` of the
installed ``matterstack`` command in subprocesses. Tests look at the outcome through the
state database (read-only) and ``attempts --json``."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import tempfile
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


def kill_steps_during_submission(cluster, slurm_run, kills: int, tasks: int = 6, earliest: float = 0.05,
                                 longest: float = 1.5, on_first_answer: bool = False, slurm=None) -> list[int]:
    """Kill ``step`` ``kills`` times at random moments ``earliest`` to ``longest`` s in (with
    ``on_first_answer``: as soon as the database shows that step has recorded a job, at most
    ``longest`` s in), then loop the run to its end: every task ran in exactly one Slurm job
    (or array element), the one its attempt names. ``slurm``: the instance's job defaults
    (``job_arrays``). Returns how many attempts had a job id after each kill."""
    ledger = Path(tempfile.mkdtemp(prefix="ledger-"))
    run = slurm_run(cluster, [{"task_id": f"t{i}", "command": RECORD_JOB_ID, "env": {"LEDGER": str(ledger), "TASK": f"t{i}"}}
                              for i in range(tasks)], slurm=slurm)
    rng = random.Random(kills)
    recorded = [0]
    for _ in range(kills):
        process = run.step_process()
        if on_first_answer:
            deadline = time.monotonic() + longest
            while (process.poll() is None and time.monotonic() < deadline
                   and sum(1 for a in run.all_attempts() if a.external_id) <= recorded[-1]):
                time.sleep(0.05)
        else:
            time.sleep(rng.uniform(earliest, longest))
        process.send_signal(signal.SIGKILL)
        process.wait()
        recorded.append(sum(1 for a in run.all_attempts() if a.external_id))
    run.loop(timeout=120 + tasks)
    time.sleep(2)

    attempts = run.all_attempts()
    ran = {a.attempt_id: (ledger / a.task_id).read_text().split() for a in attempts}
    with run.store() as store:
        integrity = store.integrity_check()
    assert len(attempts) == tasks and {a.status.value for a in attempts} == {"COMPLETED"}
    assert ran == {a.attempt_id: [a.external_id] for a in attempts}
    if (slurm or {}).get("job_arrays"):
        elements = settled_count(lambda: elements_of_arrays(cluster, {a.attempt_id for a in attempts}), tasks)
        assert elements == tasks, f"the cluster ran or holds {elements} array elements for {tasks} tasks"
    else:
        jobs = {a.attempt_id: cluster.jobs_named(a.attempt_id) for a in attempts}
        assert {a.attempt_id: [j["job_id"] for j in jobs[a.attempt_id]] for a in attempts} == {
            a.attempt_id: [a.external_id] for a in attempts}
    assert integrity == "ok"
    return recorded[1:]


RECORD_JOB_ID = ('if [ -n "$SLURM_ARRAY_JOB_ID" ]; then id=${SLURM_ARRAY_JOB_ID}_$SLURM_ARRAY_TASK_ID; '
                 'else id=$SLURM_JOB_ID; fi; echo "$id" > out.txt; echo "$id" >> "$LEDGER/$TASK"')
"""A task's command: its job id (``<array>_<index>`` for an array element) in ``out.txt`` and
appended to the ledger file of its task, so a task that ran twice shows two lines."""


def settled_count(count, expected: int, timeout: float = 60) -> int:
    """``count()`` once it reaches ``expected`` or passes it, or after ``timeout`` s: slurmdbd
    records finished elements a while after slurmctld ends them (seconds for 200 under load),
    and in between an element is neither live in squeue nor in the accounting."""
    deadline = time.monotonic() + timeout
    while (seen := count()) < expected and time.monotonic() < deadline:
        time.sleep(2)
    return seen


def elements_of_arrays(cluster, attempt_ids: set[str]) -> int:
    """How many array elements the cluster ran or holds in arrays named after these attempts
    (``a.<attempt id>.<batch>``): the accounting's finished ones and squeue's live ones
    (completion records name an element by its own job id, slurmdbd as ``<array>_<index>``)."""
    def ours(name: str) -> bool:
        return name.startswith("a.") and name[2:].rsplit(".", 1)[0] in attempt_ids

    listed = cluster.slurm("squeue", "-h", "-t", "all", "-r", "-o", "%i|%j|%T").stdout
    live = {job_id for job_id, name, state in (line.split("|") for line in listed.splitlines())
            if ours(name) and state in ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING")}
    finished = {row["job_id"] for row in cluster.accounting_rows() if ours(row["name"])}
    return len(finished) + len(live) if cluster.profile == "jobcomp" else len(finished | live)
