"""Per-task orchestration overhead against Parsl and Snakemake, and latency per dependency level.

1. One workload, 1,000 independent tasks whose command is ``true``, run to the end by three
   whole processes, each timed from start to exit (MatterStack and Parsl interleaved,
   Snakemake after them):
   - MatterStack: one ``matterstack loop <run>`` of a workspace created in a temporary
     folder (the run is made first with ``matterstack init``, untimed; the local operator,
     its default settings: no concurrency cap);
   - Parsl: a script that loads a ``ThreadPoolExecutor`` config (``max_threads=2``, one per
     core) and waits for 1,000 ``bash_app`` calls. Threads are Parsl's cheapest executor
     for many tiny local commands and the one whose overhead the design notes quote; the
     HighThroughputExecutor adds an interchange and worker processes, which only pays off
     for longer tasks or many nodes;
   - Snakemake: 1,000 jobs of one ``shell:`` rule (``touch()`` outputs, so the shell runs
     ``true`` alone), ``--cores 2``.
   Reported: wall time / 1,000 for each, and MatterStack over the best of the other two
   (target: MatterStack the lowest, i.e. a ratio below 1).
2. A chain of 100 tasks (each depends on the previous), ``true`` each, in one ``loop``
   process. Latency per level = (wall of the 100-chain − wall of a 1-chain) / 99, which
   removes start-up and the final analysis, minus the time to run ``true`` once (the median
   of 100 sequential runs in this process). Target: at most 5 ms per level. Each round runs
   the two chains ``--chain-repeats`` times (3 by default): a chain takes about a second, and
   on a machine whose speed drifts the median of one per round moves by a millisecond.

    python bench/bench_overhead.py [--rounds N] [--chain-repeats K] [--folder DIR]

Every attempt of a local task creates its folders and files (``tasks/<task>/attempts/<id>/``,
``manifest.json``, ``config_snapshot/``, the job's claim, logs and exit code): on a disk where
creating a file costs a millisecond that dominates, so ``--folder /dev/shm`` measures the same
workload with file creation nearly free.

Nothing any round makes is deleted before the end. On ext4 without a journal, creating a file
skips every free inode of its group deleted in the last minute (six while the inode table is
not yet written back), one lookup each: a folder of thousands of files deleted between rounds
would make every later creation pay for it, and so weigh on whichever framework creates
files. Snakemake deletes three files per job as it goes (its incomplete-output marker and the
scheduler's ``.mps``/``.sol`` files), so its rounds run after the interleaved MatterStack and
Parsl rounds; at 20 times their cost, interleaving it would tell nothing more. The cost of one
creation is measured before and after the interleaved rounds and printed; start the bench a few
minutes after deleting many files (a test suite's temporary folders, an earlier run of this
bench).

Parsl and Snakemake are pinned in bench/requirements.txt; a framework that is not installed
is reported as missing and left out of the comparison. Every process may write bytecode caches
(``PYTHONDONTWRITEBYTECODE`` is dropped from their environment), as bench_cli.py explains.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

TASKS = 1000
CHAIN = 100
TARGET_LEVEL_MS = 5.0
SNAKEMAKE = "Snakemake shell, --cores 2"
DELETING_PEERS = {SNAKEMAKE}
"""Peers that delete files as they go, run after the interleaved rounds (see the docstring)."""

CAMPAIGN = '''\
from matterstack import Campaign, Task, Workflow

TASKS = {tasks}
CHAIN = {chain}


class TrueTasks(Campaign):
    def plan(self, state):
        if state is not None:
            return None
        workflow = Workflow()
        for i in range(TASKS):
            depends = {{f"t{{i - 1}}"}} if CHAIN and i else set()
            workflow.add_task(Task(task_id=f"t{{i}}", command="true", dependencies=depends))
        return workflow

    def analyze(self, state, results):
        return {{"done": len(results)}}


def get_campaign():
    return TrueTasks()
'''

PARSL_SCRIPT = '''\
import sys

import parsl
from parsl.app.app import bash_app
from parsl.config import Config
from parsl.executors.threads import ThreadPoolExecutor


@bash_app
def true_command():
    return "true"


parsl.load(Config(executors=[ThreadPoolExecutor(max_threads=2)], run_dir=sys.argv[2],
                  initialize_logging=False))
futures = [true_command() for _ in range(int(sys.argv[1]))]
assert all(future.result() == 0 for future in futures)
parsl.dfk().cleanup()
'''

SNAKEFILE = '''\
rule all:
    input: expand("out/{{i}}", i=range({tasks}))

rule true_command:
    output: touch("out/{{i}}")
    shell: "true"
'''


CHILD_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def run(command: list[str], cwd: Path) -> float:
    """Seconds ``command`` takes, start to exit; raises with its output if it fails.

    The disk is synced first, so that what earlier rounds wrote is not written back during
    this one (and, on ext4 without a journal, a deleted inode whose table block is still
    unwritten counts as recently deleted for six minutes instead of one: see the module
    docstring)."""
    os.sync()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=CHILD_ENV, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return seconds


def matterstack(command: str) -> list[str]:
    return [sys.executable, "-m", "matterstack", command]


def matterstack_loop(folder: Path, tasks: int, chain: bool) -> float:
    """Seconds of one ``matterstack loop`` running a fresh run of ``tasks`` ``true`` tasks."""
    root = folder / "workspaces"
    workspace = root / f"true_{tasks}_{'chain' if chain else 'independent'}"
    if not workspace.exists():
        workspace.mkdir(parents=True)
        (workspace / "main.py").write_text(CAMPAIGN.format(tasks=tasks, chain=chain))
    option = ["--workspaces-root", str(root)]
    made = subprocess.run([*matterstack("init"), workspace.name, *option], cwd=folder, env=CHILD_ENV,
                          capture_output=True, text=True, check=True)
    run_id = made.stdout.split()[1]
    seconds = run([*matterstack("loop"), run_id, *option], folder)
    status = json.loads(subprocess.run([*matterstack("status"), run_id, "--json", *option], cwd=folder,
                                       env=CHILD_ENV, capture_output=True, text=True, check=True).stdout)
    assert status["status"] == "COMPLETED" and status["tasks"] == {"COMPLETED": tasks}, status
    return seconds  # the run's files stay until the end (see the module docstring)


def parsl_run(folder: Path) -> float:
    script = folder / "parsl_true.py"
    script.write_text(PARSL_SCRIPT)
    runinfo = Path(tempfile.mkdtemp(prefix="parsl_runinfo-", dir=folder))
    return run([sys.executable, str(script), str(TASKS), str(runinfo)], folder)


def snakemake_run(folder: Path) -> float:
    work = Path(tempfile.mkdtemp(prefix="snakemake-", dir=folder))
    (work / "Snakefile").write_text(SNAKEFILE.format(tasks=TASKS))
    return run([sys.executable, "-m", "snakemake", "--cores", "2", "--quiet", "all"], work)


def installed(module: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode == 0


def true_once_ms(repeats: int = CHAIN) -> float:
    """Median milliseconds to run ``true`` once from this process."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(["true"], check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def creation_ms(folder: Path, count: int = 500) -> float:
    """Milliseconds to create one folder holding one small file in ``folder``, the unit of
    a local attempt's files (the attempt makes about five of each): the disk's state at the
    time, printed beside the figures it weighs on."""
    scratch = Path(tempfile.mkdtemp(prefix="creation-", dir=folder))
    start = time.perf_counter()
    for index in range(count):
        os.mkdir(scratch / str(index))
        (scratch / str(index) / "file").write_bytes(b"0\n")
    return (time.perf_counter() - start) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each workload, interleaved (median counts)")
    parser.add_argument("--chain-repeats", type=int, default=3,
                        help="runs of the 100-task and the 1-task chain in each round (median over all)")
    parser.add_argument("--folder", type=Path, default=None,
                        help="where the runs and the peers' files go (default: the temporary folder); e.g."
                             " /dev/shm to tell the disk's cost of creating files from the orchestration's own")
    options = parser.parse_args()
    peers = {"Parsl bash_app, threads": ("parsl", parsl_run), SNAKEMAKE: ("snakemake", snakemake_run)}
    missing = [name for name, (module, _) in peers.items() if not installed(module)]
    peers = {name: peer for name, peer in peers.items() if name not in missing}
    samples: dict[str, list[float]] = {"MatterStack loop": [], **{name: [] for name in peers}}
    chain_samples: dict[int, list[float]] = {CHAIN: [], 1: []}
    true_ms: list[float] = []
    with tempfile.TemporaryDirectory(prefix="ms-bench-overhead-", dir=options.folder) as name:
        folder = Path(name)
        env_note = f"{os.cpu_count()} cores, python {sys.version.split()[0]}, files in {folder.parent}"
        creations = [creation_ms(folder)]
        interleaved = {name: peer for name, peer in peers.items() if name not in DELETING_PEERS}
        for _ in range(options.rounds):
            samples["MatterStack loop"].append(matterstack_loop(folder, TASKS, chain=False))
            for peer, (_, action) in interleaved.items():
                samples[peer].append(action(folder))
            for _ in range(options.chain_repeats):
                for length in chain_samples:
                    chain_samples[length].append(matterstack_loop(folder, length, chain=True))
            true_ms.append(true_once_ms())
        creations.append(creation_ms(folder))
        for peer, (_, action) in peers.items():
            if peer not in interleaved:
                samples[peer].extend(action(folder) for _ in range(options.rounds))
    per_task = {name: statistics.median(values) / TASKS * 1000 for name, values in samples.items()}
    print(f"per-task overhead, {TASKS} independent `true` tasks, whole processes, median of {options.rounds} ({env_note})")
    for name, ms in per_task.items():
        print(f"  {name:<30} {ms:7.2f} ms/task   ({ms * TASKS / 1000:6.2f} s wall)")
    for name in missing:
        print(f"  {name:<30} not installed (pip install -r bench/requirements.txt)")
    others = {name: ms for name, ms in per_task.items() if name != "MatterStack loop"}
    if others:
        best = min(others, key=others.get)
        ratio = per_task["MatterStack loop"] / others[best]
        ok = "ok" if ratio < 1 else "OVER TARGET"
        print(f"  MatterStack / best other ({best}): {ratio:.2f}x (target: below 1, MatterStack the lowest: {ok})")
    chain_s = {length: statistics.median(values) for length, values in chain_samples.items()}
    level_ms = (chain_s[CHAIN] - chain_s[1]) / (CHAIN - 1) * 1000
    baseline = statistics.median(true_ms)
    beyond = level_ms - baseline
    ok = "ok" if beyond <= TARGET_LEVEL_MS else "OVER TARGET"
    print(f"latency per dependency level, {CHAIN}-task chain in one loop"
          f" (median of {options.rounds * options.chain_repeats}):")
    print(f"  {level_ms:6.2f} ms per level; running `true` once (baseline) {baseline:5.2f} ms;"
          f" beyond the command {beyond:5.2f} ms (target <= {TARGET_LEVEL_MS:.0f} ms: {ok})")
    print(textwrap.indent(f"chain walls: 100 tasks {chain_s[CHAIN]:.2f} s, 1 task {chain_s[1]:.2f} s", "  "))
    print(f"the disk meanwhile: a folder and a small file in it took {creations[0]:.3f} ms before the rounds,"
          f" {creations[1]:.3f} ms after")


if __name__ == "__main__":
    main()
