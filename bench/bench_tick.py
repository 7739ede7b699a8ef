"""One in-process tick with 1,000 active attempts, in a run of 10k and of 100k tasks.

Each run holds 1,000 tasks whose attempts are RUNNING and every other task waiting on one of
them (the steady state of a long campaign: the tick polls, finds nothing finished and has
nothing to start). The attempts belong to the operator kind ``bench``, registered through the
plugin host like any plugin; its ``poll`` answers "still running" for every attempt without
any I/O, so the figure is the orchestrator's and the store's own cost. The databases are
built through the store's batch APIs.

Reported per size: the median of ``--ticks`` ticks of ``matterstack.orchestrator.tick.tick``
on an open store, and, measured in the same run as the baseline, loading every task of the
run into Python (``list(store.iter_tasks())``, what a tick that is not indexed would pay).
Targets: at most 15 ms at 10k, at most 60 ms at 100k, 100k/10k at most 2.

    python bench/bench_tick.py [--ticks N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench_operator import BenchPlugin
from matterstack.core.records import Attempt, Run
from matterstack.core.status import AttemptStatus, RunStatus
from matterstack.core.transitions import apply_attempt_transition
from matterstack.core.workflow import Task
from matterstack.orchestrator.api import build_registry
from matterstack.orchestrator.handle import RunHandle
from matterstack.wiring.model import InstanceConfig, Wiring
from matterstack.orchestrator.tick import tick
from matterstack.plugins import PluginHost
from matterstack.store import StateStore

ACTIVE = 1000
SIZES = (10_000, 100_000)
TARGET_MS = {10_000: 15.0, 100_000: 60.0}
TARGET_RATIO = 2.0
T0 = datetime(2027, 1, 1, tzinfo=timezone.utc)
KEY = "bench.default"


class Idle:
    """A campaign the tick never reaches: attempts are always active."""

    def plan(self, state):
        raise AssertionError("plan called during the benchmark")

    def analyze(self, state, results):
        raise AssertionError("analyze called during the benchmark")


def build_run(folder: Path, total: int) -> RunHandle:
    """A RUNNING run of ``total`` tasks: ACTIVE running attempts, the rest waiting on them."""
    run_dir = folder / "runs" / f"run{total}"
    run = Run(run_id=f"run{total}", workspace_slug="bench", root_path=str(run_dir), created_at=T0,
              status=RunStatus.RUNNING)
    tasks = [Task(task_id=f"t{i}", command="true", operator_key=KEY) for i in range(ACTIVE)] + [
        Task(task_id=f"t{i}", command="true", operator_key=KEY, dependencies={f"t{i % ACTIVE}"})
        for i in range(ACTIVE, total)
    ]
    attempts = [
        Attempt(attempt_id=f"a{i}", task_id=f"t{i}", run_id=run.run_id, attempt_index=1,
                operator_key=KEY, relative_path=f"tasks/t{i}/attempts/a{i}", created_at=T0)
        for i in range(ACTIVE)
    ]
    with StateStore.create(run_dir / "state.sqlite", run) as store:
        store.add_tasks(tasks)
        store.add_attempts(attempts)
        store.record_attempt_transitions([
            apply_attempt_transition(a, AttemptStatus.RUNNING, "running", T0, external_id=a.attempt_id)
            for a in attempts
        ])
    return RunHandle(run_id=run.run_id, workspace_slug="bench", root_path=run_dir)


def median_ms(action, repeats: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``action`` over ``repeats`` runs, after one untimed run."""
    action()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def measure(folder: Path, total: int, host: PluginHost, ticks: int) -> dict[str, float]:
    handle = build_run(folder, total)
    wiring = Wiring(instances={KEY: InstanceConfig(key=KEY, kind="bench")}, default_operator=KEY,
                    source="bench wiring")
    registry = build_registry(handle, wiring, host=host)
    campaign = Idle()
    try:
        with StateStore.open(handle.db_path) as store:
            start = time.perf_counter()
            report = tick(handle, campaign, store, registry)
            first_ms = (time.perf_counter() - start) * 1000
            assert report.status == RunStatus.RUNNING and not (report.submitted or report.finished), report
            assert len(store.active_attempts()) == ACTIVE and not store.ready_tasks()
            tick_ms, tick_cpu_ms = median_ms(lambda: tick(handle, campaign, store, registry), ticks)
            load_ms, load_cpu_ms = median_ms(lambda: list(store.iter_tasks()), max(5, ticks // 4))
    finally:
        registry.close()
    return {"tick_ms": tick_ms, "tick_cpu_ms": tick_cpu_ms, "first_tick_ms": first_ms,
            "load_all_ms": load_ms, "load_all_cpu_ms": load_cpu_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=31, help="timed ticks per size (default 31)")
    options = parser.parse_args()
    host = PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": ""})
    host.pm.register(BenchPlugin(), name="bench")
    results = {}
    with tempfile.TemporaryDirectory(prefix="ms-bench-tick-") as folder:
        for total in SIZES:
            results[total] = measure(Path(folder), total, host, options.ticks)
    print(f"one tick, {ACTIVE} active attempts, median of {options.ticks} ticks on an open store"
          f" (wall, and CPU in brackets), python {sys.version.split()[0]}")
    for total in SIZES:
        r = results[total]
        ok = "ok" if r["tick_ms"] <= TARGET_MS[total] else "OVER TARGET"
        print(f"  {total:>7,} tasks: tick {r['tick_ms']:6.2f} ms [{r['tick_cpu_ms']:6.2f}]"
              f" (target <= {TARGET_MS[total]:.0f} ms: {ok});"
              f" load every task (baseline) {r['load_all_ms']:7.1f} ms [{r['load_all_cpu_ms']:7.1f}];"
              f" tick/baseline {r['tick_ms'] / r['load_all_ms']:.3f}x;"
              f" first tick of a fresh store {r['first_tick_ms']:.1f} ms")
    ratio = results[SIZES[1]]["tick_ms"] / results[SIZES[0]]["tick_ms"]
    load_ratio = results[SIZES[1]]["load_all_ms"] / results[SIZES[0]]["load_all_ms"]
    ok = "ok" if ratio <= TARGET_RATIO else "OVER TARGET"
    print(f"  100k/10k: tick {ratio:.2f} (target <= {TARGET_RATIO}: {ok}); load every task {load_ratio:.2f}")


if __name__ == "__main__":
    main()
