"""The scale of one run, and of many (issue #17, item 5).

1. **Tick** of a run of 1,000,000 tasks, 1,000 of them with RUNNING attempts and every other
   task waiting on one of them (bench_tick.py's shape, a hundred times larger). Median of
   ``--ticks`` in-process ticks on an open store. Baselines in the same run: the same tick on
   bench_tick.py's 100k run (ratio 1M/100k), and one ``SELECT COUNT(*) FROM tasks`` of the 1M
   run (what any pass over every task costs at the least). Target: at most 15 ms.
2. **step and status** as whole processes on that run, as bench_cli.py runs them (the operator
   kind ``bench`` of bench_operator.py answers every poll at once), interleaved with its
   baselines ``python -c pass`` and a typer hello app. Targets: at most 250 / 200 ms.
3. **plan returning 100,000 tasks**, stored through the normal paths: ``initialize_run``
   (``plan(None)``), and a tick whose iteration has ended (analyze, then ``plan``). 1,000
   tasks independent, the rest depending on one of them. What is reported is the call's time
   less what ``plan`` itself took to build its workflow. Baseline in the same run: raw
   ``sqlite3`` ``executemany`` of the same rows (tasks and dependencies) into a fresh file of
   the same schema. Target: at most 5 s.
4. **loop over 100 active runs**: ``matterstack loop`` without a run id (round-robin over the
   project) as a whole process, on 100 runs of 1,000 tasks with 10 RUNNING attempts each;
   ``--max-ticks 1`` and ``--max-ticks 1+R`` interleaved, and (difference) / (R x 100) is what
   one more round costs per run: start-up, plugin loading and the final output cancel out.
   Baseline: the in-process tick of one such run. Target: at most 10 ms per run per round.
5. **explain** (``--only explain``; not run by default: before this was measured it took
   100 s): the text of ``matterstack explain`` on the 1M run, whole process, median of
   at most 3; our own target, 5 s.

The 1M and 100k runs are written straight into a store made by ``StateStore.create``, in the
store's own encoding (``task_values`` of one task per dependency target, the id replaced), and
their attempts through ``add_attempts``; before that, a run of 3,000 tasks is built both that
way and through ``StateStore.add_tasks``, and the two files must hold the same rows.

Everything here is CPU-bound: the figures are of a machine whose other users are named in the
first line printed (the load average before the run). With ``--baseline COMMIT`` each part runs
in child processes on a git worktree of that commit and on this tree, alternately, and the
medians are printed side by side (the sources of the worktree first on ``PYTHONPATH``).

    python bench/bench_run_scale.py [--ticks N] [--runs N] [--rounds R] [--only tick,cli,plan,loop,explain]
                                    [--baseline COMMIT [--repeat N]]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_cli import CAMPAIGN, CHILD_ENV, STEP, wall_ms
from bench_operator import BenchPlugin
from bench_startup import HELLO_APP
from bench_tick import KEY, T0, Idle, median_ms

from matterstack.core.records import Attempt, Run
from matterstack.core.status import AttemptStatus, RunStatus, TaskStatus
from matterstack.core.transitions import apply_attempt_transition
from matterstack.core.workflow import Task, Workflow
from matterstack.orchestrator.api import build_registry, initialize_run
from matterstack.orchestrator.handle import RunHandle
from matterstack.wiring.model import InstanceConfig, Wiring
from matterstack.orchestrator.tick import tick
from matterstack.plugins import PluginHost
from matterstack.project.layout import register_run
from matterstack.store import StateStore
from matterstack.store.rows import task_values
from matterstack.store.schema import TASK_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("matterstack-core/src", "matterstack-ops-slurm/src", "matterstack-ops-human/src", "matterstack-ops-experiment/src")
BIG, BASELINE_SIZE, ACTIVE = 1_000_000, 100_000, 1_000
PLANNED = 100_000
LOOP_RUNS, LOOP_TASKS, LOOP_ACTIVE = 100, 1_000, 10
TARGETS_MS = {"tick": 15.0, "step": 250.0, "status": 200.0, "plan": 5000.0, "loop": 10.0, "explain": 5000.0}
INSERT_TASK = (f"INSERT INTO tasks ({', '.join((*TASK_COLUMNS, 'run_id', 'status', 'waiting_on'))})"
               f" VALUES ({', '.join('?' * (len(TASK_COLUMNS) + 3))})")
INSERT_DEPENDENCY = "INSERT INTO task_dependencies (task_id, depends_on) VALUES (?, ?)"


def shaped_tasks(total: int, active: int, prefix: str = "t") -> list[Task]:
    """``active`` independent tasks, then the rest each depending on one of them."""
    return [Task(task_id=f"{prefix}{i}", command="true", operator_key=KEY) for i in range(active)] + [
        Task(task_id=f"{prefix}{i}", command="true", operator_key=KEY, dependencies={f"{prefix}{i % active}"})
        for i in range(active, total)]


def task_rows(run_id: str, total: int, active: int):
    """The ``tasks`` and ``task_dependencies`` rows ``add_tasks`` writes for :func:`shaped_tasks`
    (no task finished yet, so a dependent waits on one), encoded once per distinct shape."""
    position = TASK_COLUMNS.index("task_id")
    templates = [task_values(task) for task in shaped_tasks(2 * active, active)]
    for i in range(total):
        values = list(templates[i if i < active else active + i % active])
        values[position] = f"t{i}"
        yield (*values, run_id, TaskStatus.PENDING.value, 0 if i < active else 1)


def dependency_rows(total: int, active: int):
    return ((f"t{i}", f"t{i % active}") for i in range(active, total))


def run_record(folder: Path, run_id: str) -> Run:
    return Run(run_id=run_id, workspace_slug="bench", root_path=str(folder / "runs" / run_id), created_at=T0,
               status=RunStatus.RUNNING)


def start_attempts(store: StateStore, run_id: str, active: int) -> None:
    attempts = [Attempt(attempt_id=f"a{i}", task_id=f"t{i}", run_id=run_id, attempt_index=1, operator_key=KEY,
                        relative_path=f"tasks/t{i}/attempts/a{i}", created_at=T0) for i in range(active)]
    store.add_attempts(attempts)
    store.record_attempt_transitions([
        apply_attempt_transition(a, AttemptStatus.RUNNING, "running", T0, external_id=a.attempt_id)
        for a in attempts])


def build_run(folder: Path, total: int, active: int = ACTIVE, run_id: str | None = None,
              *, through_add_tasks: bool = False) -> RunHandle:
    """A RUNNING run of ``total`` tasks, ``active`` of them with RUNNING attempts."""
    run = run_record(folder, run_id or f"run{total}")
    with StateStore.create(Path(run.root_path) / "state.sqlite", run) as store:
        if through_add_tasks:
            store.add_tasks(shaped_tasks(total, active))
        else:
            connection = store.db.conn
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(INSERT_TASK, task_rows(run.run_id, total, active))
            connection.executemany(INSERT_DEPENDENCY, dependency_rows(total, active))
            connection.execute("COMMIT")
        start_attempts(store, run.run_id, active)
    return RunHandle(run_id=run.run_id, workspace_slug="bench", root_path=Path(run.root_path))


def check_bulk_build(folder: Path) -> None:
    """The bulk rows are the rows ``add_tasks`` writes (else every figure here is of another run)."""
    tables = {}
    for way, through in (("bulk", False), ("store", True)):
        handle = build_run(folder / way, 3000, 100, "check", through_add_tasks=through)
        with sqlite3.connect(handle.db_path) as connection:
            tables[way] = [sorted(connection.execute(f"SELECT * FROM {table}").fetchall())
                           for table in ("tasks", "task_dependencies", "task_attempts")]
    assert tables["bulk"] == tables["store"], "the bulk build differs from StateStore.add_tasks"


def bench_registry(handle: RunHandle, host: PluginHost):
    wiring = Wiring(instances={KEY: InstanceConfig(key=KEY, kind="bench")}, default_operator=KEY,
                    source="bench wiring")
    return build_registry(handle, wiring, host=host)


def tick_ms(handle: RunHandle, host: PluginHost, ticks: int) -> float:
    registry = bench_registry(handle, host)
    try:
        with StateStore.open(handle.db_path) as store:
            report = tick(handle, Idle(), store, registry)
            assert report.status == RunStatus.RUNNING and not (report.submitted or report.finished), report
            return median_ms(lambda: tick(handle, Idle(), store, registry), ticks)[0]
    finally:
        registry.close()


def measure_tick(folder: Path, host: PluginHost, ticks: int) -> dict[str, float]:
    big, small = build_run(folder, BIG), build_run(folder, BASELINE_SIZE)
    with sqlite3.connect(big.db_path) as connection:
        start = time.perf_counter()
        connection.execute("SELECT COUNT(*) FROM tasks").fetchone()
        count_ms = (time.perf_counter() - start) * 1000
    return {"tick": tick_ms(big, host, ticks), "tick100k": tick_ms(small, host, ticks), "count": count_ms}


def bench_project(folder: Path) -> tuple[Path, RunHandle]:
    """A project whose one workspace holds the 1M run; its workspaces root and the run."""
    root = folder / "workspaces"
    workspace = root / "bench"
    workspace.mkdir(parents=True)
    (workspace / "main.py").write_text(CAMPAIGN)
    handle = build_run(workspace, BIG)
    register_run(root, handle.run_id, handle.root_path)
    return root, handle


def measure_cli(folder: Path, runs: int) -> dict[str, float]:
    root, handle = bench_project(folder)
    hello, step = folder / "hello_typer.py", folder / "step_with_bench_operator.py"
    hello.write_text(HELLO_APP)
    step.write_text(STEP.format(bench=str(Path(__file__).parent)))
    where = ["--workspaces-root", str(root)]
    commands = {
        "python": [sys.executable, "-c", "pass"],
        "hello": [sys.executable, str(hello), "hello"],
        "step": [sys.executable, str(step), "step", handle.run_id, *where],
        "status": [sys.executable, "-m", "matterstack", "status", handle.run_id, *where],
    }
    for command in commands.values():
        for _ in range(2):
            wall_ms(command, folder)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            samples[name].append(wall_ms(command, folder))
    return {name: statistics.median(values) for name, values in samples.items()}


def measure_explain(folder: Path, runs: int) -> dict[str, float]:
    """``matterstack explain`` (text) of the 1M run as a whole process, and ``status`` beside it."""
    root, handle = bench_project(folder)
    where = ["--workspaces-root", str(root)]
    samples: dict[str, list[float]] = {"explain": [], "status": []}
    for _ in range(runs):
        for name in samples:
            samples[name].append(wall_ms([sys.executable, "-m", "matterstack", name, handle.run_id, *where], folder))
    return {name: statistics.median(values) for name, values in samples.items()}


class Planner:
    """A campaign whose ``plan`` returns PLANNED tasks at once (ids after ``prefix``), and
    which times its own ``plan`` so the store's share can be told apart."""

    def __init__(self, prefix: str, first: Workflow | None = None):
        self.prefix, self.first, self.plan_seconds = prefix, first, 0.0

    def plan(self, state):
        if state is None and self.first is not None:
            return self.first
        start = time.perf_counter()
        workflow = Workflow(shaped_tasks(PLANNED, ACTIVE, self.prefix))
        self.plan_seconds = time.perf_counter() - start
        return workflow

    def analyze(self, state, results):
        return {"iteration": 2}


def measure_plan(folder: Path, host: PluginHost) -> dict[str, float]:
    campaign = Planner("p")
    start = time.perf_counter()
    initialize_run("bench", campaign, workspace_path=folder / "init")
    init_ms = (time.perf_counter() - start - campaign.plan_seconds) * 1000

    later = Planner("q", first=Workflow([Task(task_id="seed", command="true", operator_key=KEY)]))
    handle = initialize_run("bench", later, workspace_path=folder / "later")
    with StateStore.open(handle.db_path) as store:
        store.set_run_status(RunStatus.RUNNING, "bench")
        seed = Attempt(attempt_id="s1", task_id="seed", run_id=handle.run_id, attempt_index=1, operator_key=KEY,
                       relative_path="tasks/seed/attempts/s1", created_at=T0)
        store.add_attempts([seed])
        store.record_attempt_transitions([
            apply_attempt_transition(seed, AttemptStatus.COMPLETED, "done", T0)])
        registry = bench_registry(handle, host)
        try:
            start = time.perf_counter()
            report = tick(handle, later, store, registry)
            tick_plan_ms = (time.perf_counter() - start - later.plan_seconds) * 1000
        finally:
            registry.close()
    assert report.planned == PLANNED, report

    raw = folder / "raw" / "state.sqlite"
    StateStore.create(raw, run_record(folder, "raw")).close()
    rows, dependencies = list(task_rows("raw", PLANNED, ACTIVE)), list(dependency_rows(PLANNED, ACTIVE))
    connection = sqlite3.connect(raw, isolation_level=None)
    start = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(INSERT_TASK, rows)
    connection.executemany(INSERT_DEPENDENCY, dependencies)
    connection.execute("COMMIT")
    raw_ms = (time.perf_counter() - start) * 1000
    connection.close()
    return {"init": init_ms, "tick_plan": tick_plan_ms, "raw": raw_ms,
            "plan_itself": later.plan_seconds * 1000}


def measure_loop(folder: Path, host: PluginHost, runs: int, rounds: int) -> dict[str, float]:
    root = folder / "workspaces"
    workspace = root / "bench"
    workspace.mkdir(parents=True)
    (workspace / "main.py").write_text(CAMPAIGN)
    for n in range(LOOP_RUNS):
        handle = build_run(workspace, LOOP_TASKS, LOOP_ACTIVE, f"20270101_000000_{n:08x}")
        register_run(root, handle.run_id, handle.root_path)
    loop = folder / "loop_with_bench_operator.py"
    loop.write_text(STEP.format(bench=str(Path(__file__).parent)))

    def loop_ms(max_ticks: int) -> float:
        command = [sys.executable, str(loop), "loop", "--interval", "0", "--max-ticks", str(max_ticks),
                   "--workspaces-root", str(root)]
        return wall_ms(command, folder)

    loop_ms(1)
    short, long = [], []
    for _ in range(runs):
        short.append(loop_ms(1))
        long.append(loop_ms(1 + rounds))
    per_run = (statistics.median(long) - statistics.median(short)) / (rounds * LOOP_RUNS)
    return {"loop": per_run, "tick_one": tick_ms(handle, host, 15),
            "short": statistics.median(short), "long": statistics.median(long)}


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "NOT MET"


def measure(parts: set[str], options) -> list[tuple[str, float, str, str]]:
    """``(what, milliseconds, target, baseline in this run)`` for each part asked for."""
    host = PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": ""})
    host.pm.register(BenchPlugin(), name="bench")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ms-bench-scale-") as name:
        folder = Path(name)
        check_bulk_build(folder / "check")
        if "tick" in parts:
            r = measure_tick(folder / "tick", host, options.ticks)
            rows.append((f"tick, {BIG:,} tasks ({ACTIVE:,} active), median of {options.ticks}", r["tick"], "tick",
                         f"100k run {r['tick100k']:.2f} ms (1M/100k {r['tick'] / r['tick100k']:.2f});"
                         f" COUNT(*) of the 1M tasks {r['count']:.1f} ms"))
        if "cli" in parts:
            r = measure_cli(folder / "cli", options.runs)
            base = f"python -c pass {r['python']:.0f} ms, typer hello {r['hello']:.0f} ms"
            for what in ("step", "status"):
                rows.append((f"`matterstack {what}`, 1M run, median of {options.runs}", r[what], what,
                             f"{r[what] / r['hello']:.2f}x typer hello ({base})"))
        if "plan" in parts:
            r = measure_plan(folder / "plan", host)
            raw = f"raw sqlite3 {r['raw']:.0f} ms; plan() itself {r['plan_itself']:.0f} ms, not counted"
            rows.append((f"plan(None) of {PLANNED:,} tasks stored by init", r["init"], "plan",
                         f"{r['init'] / r['raw']:.1f}x {raw}"))
            rows.append((f"plan of {PLANNED:,} tasks stored by a tick", r["tick_plan"], "plan",
                         f"{r['tick_plan'] / r['raw']:.1f}x raw"))
        if "loop" in parts:
            r = measure_loop(folder / "loop", host, options.runs, options.rounds)
            rows.append((f"`loop`, {LOOP_RUNS} active runs, per run per round", r["loop"], "loop",
                         f"in-process tick of one run {r['tick_one']:.2f} ms; loop of 1 round"
                         f" {r['short']:.0f} ms, of {1 + options.rounds} {r['long']:.0f} ms"))
        if "explain" in parts:
            r = measure_explain(folder / "explain", min(options.runs, 3))
            rows.append((f"`matterstack explain`, 1M run, median of {min(options.runs, 3)}", r["explain"], "explain",
                         f"`status` beside it {r['status']:.0f} ms"))
    return rows


def against_baseline(parts: list[str], options) -> None:
    """Each part in a child process, on a git worktree of ``--baseline`` and on this tree,
    alternately, ``--repeat`` times; the medians side by side."""
    passed = ["--ticks", str(options.ticks), "--runs", str(options.runs), "--rounds", str(options.rounds), "--json"]
    with tempfile.TemporaryDirectory(prefix="ms-bench-scale-trees-") as name:
        baseline = Path(name) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline), options.baseline],
                       check=True, capture_output=True)
        figures: dict[tuple[str, str], list[float]] = {}
        notes: dict[tuple[str, str], list[str]] = {}
        order: list[tuple[str, str]] = []
        try:
            for part in parts:
                for turn in range(options.repeat):
                    trees = [("baseline", baseline), ("now", ROOT)]
                    for label, tree in trees if turn % 2 == 0 else trees[::-1]:
                        env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(tree / s) for s in SOURCES)}
                        done = subprocess.run([sys.executable, __file__, "--only", part, *passed], env=env,
                                              capture_output=True, text=True, check=True)
                        for what, value, target, note in json.loads(done.stdout.splitlines()[-1]):
                            if (what, target) not in order:
                                order.append((what, target))
                            key = (what, target if label == "now" else f"{target} baseline")
                            figures.setdefault(key, []).append(value)
                            notes.setdefault(key, []).append(note)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)],
                           capture_output=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; baseline {options.baseline},"
          f" medians of {options.repeat} child runs each, interleaved")
    for what, target in order:
        now = statistics.median(figures[(what, target)])
        before = statistics.median(figures[(what, f"{target} baseline")])
        goal = TARGETS_MS[target]
        print(f"  {what:<52} {before:9.2f} -> {now:9.2f} ms ({before / now:.2f}x)"
              f"  (target <= {goal:g} ms: {verdict(now, goal)})")
        for label, key in (("baseline", (what, f"{target} baseline")), ("now", (what, target))):
            print(f"      {label}: {' | '.join(notes[key])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=15, help="timed in-process ticks per run (default 15)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per whole-process command (default 7)")
    parser.add_argument("--rounds", type=int, default=5, help="extra loop rounds timed (default 5)")
    parser.add_argument("--only", default="tick,cli,plan,loop", help="which parts, comma-separated (also: explain)")
    parser.add_argument("--baseline", metavar="COMMIT",
                        help="also measure a git worktree of COMMIT, each part in child processes, alternately")
    parser.add_argument("--repeat", type=int, default=3, help="child runs per tree and part with --baseline")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    options = parser.parse_args()
    parts = options.only.split(",")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores;"
          f" python {sys.version.split()[0]}")
    if options.baseline:
        against_baseline(parts, options)
        return
    rows = measure(set(parts), options)
    if options.json:
        print(json.dumps(rows))
        return
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for label, value, target, baseline in rows:
        goal = TARGETS_MS[target]
        print(f"  {label:<52} {value:9.2f} ms  (target <= {goal:g} ms: {verdict(value, goal)});  {baseline}")


if __name__ == "__main__":
    main()
