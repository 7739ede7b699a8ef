"""Whole-process ``matterstack step <run>`` and ``matterstack status <run>`` on a run of 100k tasks.

The run is the one of bench_tick.py (1,000 attempts RUNNING, every other task waiting on
them), built through the store's batch APIs in a workspace of a temporary project, and found
by its id as a user would. ``step`` runs the real command line (``matterstack.cli.app.main``)
in a fresh interpreter that first registers the operator kind ``bench`` of bench_operator.py
(its poll answers "still running" without I/O), so the figure is MatterStack's own: start-up,
plugin loading, lock, store, campaign import, one tick, output. ``status`` is ``python -m
matterstack status <run>`` as is. Baselines, in the same run and interleaved: ``python -c
pass`` and a bare typer app running its ``hello`` command. Medians of ``--runs`` runs each,
after warm-up. Targets: ``step`` at most 300 ms, ``status`` at most 250 ms.

The timed processes may write bytecode caches (``PYTHONDONTWRITEBYTECODE`` is dropped from
their environment), so after warm-up MatterStack's modules load from ``__pycache__`` as those
of an installed wheel and of typer do; otherwise an editable checkout run with that variable
set recompiles every MatterStack module on every run (about 60 ms here), which no installed
copy pays.

    python bench/bench_cli.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_startup import HELLO_APP
from bench_tick import build_run

from matterstack.project.layout import register_run

TASKS = 100_000
TARGET_MS = {"matterstack step": 300.0, "matterstack status": 250.0}
CAMPAIGN = '''\
from matterstack import Campaign


class Idle(Campaign):
    def plan(self, state):
        return None

    def analyze(self, state, results):
        return state


def get_campaign():
    return Idle()
'''
STEP = '''\
import sys

sys.path.insert(0, {bench!r})
from bench_operator import BenchPlugin
from matterstack.cli.app import main
from matterstack.plugins import get_plugin_host

get_plugin_host().pm.register(BenchPlugin(), name="bench")
main()
'''


CHILD_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def wall_ms(command: list[str], cwd: Path) -> float:
    """Run ``command`` once, output discarded; its wall time in milliseconds."""
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=CHILD_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return (time.perf_counter() - start) * 1000


def project(folder: Path) -> tuple[Path, str]:
    """A project holding one workspace with a run of TASKS tasks; its workspaces root and run id."""
    root = folder / "workspaces"
    workspace = root / "bench"
    workspace.mkdir(parents=True)
    (workspace / "main.py").write_text(CAMPAIGN)
    handle = build_run(workspace, TASKS)
    register_run(root, handle.run_id, handle.root_path)
    return root, handle.run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per command first")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ms-bench-cli-") as name:
        folder = Path(name)
        root, run_id = project(folder)
        hello = folder / "hello_typer.py"
        hello.write_text(HELLO_APP)
        step = folder / "step_with_bench_operator.py"
        step.write_text(STEP.format(bench=str(Path(__file__).parent)))
        where = ["--workspaces-root", str(root)]
        commands = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            "typer hello (baseline)": [sys.executable, str(hello), "hello"],
            "matterstack step": [sys.executable, str(step), "step", run_id, *where],
            "matterstack status": [sys.executable, "-m", "matterstack", "status", run_id, *where],
        }
        for command in commands.values():
            for _ in range(options.warmup):
                wall_ms(command, folder)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(options.runs):
            for label, command in commands.items():
                samples[label].append(wall_ms(command, folder))
    medians = {label: statistics.median(values) for label, values in samples.items()}
    python, typer_hello = medians["python -c pass (baseline)"], medians["typer hello (baseline)"]
    print(f"whole processes on a run of {TASKS:,} tasks (1,000 active), median of {options.runs} runs,"
          f" python {sys.version.split()[0]}")
    for label, median in medians.items():
        line = f"  {label:<28} {median:7.1f} ms  {median / python:5.2f}x python  {median / typer_hello:5.2f}x typer hello"
        if label in TARGET_MS:
            ok = "ok" if median <= TARGET_MS[label] else "OVER TARGET"
            line += f"   (target <= {TARGET_MS[label]:.0f} ms: {ok})"
        print(line)


if __name__ == "__main__":
    main()
