"""The collecting tick of a Slurm run over SSH: wall time and SSH round trips of the tick that
finds N finished jobs and collects them, against a baseline commit in the same invocation.

For each code tree (the baseline, a git worktree of ``--baseline``, default the commit before
batched collection; then this checkout): a workspace of N one-line tasks (``--tasks``, default
200) and an ``hpc`` instance over SSH to the harness (profile ``jobcomp``), ``matterstack
init``, one ``matterstack step`` that submits them, a wait until Slurm has run them all, then
the measured ``step`` in a child process that imports that tree's code first and counts, at
paramiko's level (so both trees are counted the same way), every SSH command started and
every SFTP request. Each run must end with every attempt COMPLETED and its output recorded.

    python bench/bench_slurm_collect.py [--tasks 200] [--baseline COMMIT]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench_slurm_submit import COUNTED_STEP, MAIN_PY, ROOT, SOURCES, baseline_tree, start_cluster

COMMAND = "cat in.txt > out.txt && seq 200 > numbers.txt && echo done > log.txt"
WAIT_FOR_JOBS = 600.0


def prepared_run(tree: Path, tasks: int, cluster: dict, folder: Path) -> tuple[Path, Path, dict]:
    """A run of ``tasks`` tasks made by ``init`` with ``tree``'s code: (workspace, run, env)."""
    workspace = folder / f"ws-{tree.name}-{tasks}"
    workspace.mkdir(parents=True)
    assert 'command="echo ok > out.txt"' in MAIN_PY
    (workspace / "main.py").write_text(MAIN_PY.replace('command="echo ok > out.txt"', f"command={COMMAND!r}"))
    (workspace / "n.txt").write_text(str(tasks))
    ssh = {"host": cluster["SLURM_HARNESS_SSH_HOST"], "port": int(cluster["SLURM_HARNESS_SSH_PORT"]),
           "user": cluster["SLURM_HARNESS_SSH_USER"], "key_path": cluster["SLURM_HARNESS_SSH_KEY"],
           "known_hosts": cluster["SLURM_HARNESS_SSH_KNOWN_HOSTS"]}
    backend = {"type": "slurm", "workspace_root": str(folder / f"remote-{tree.name}-{tasks}"), "ssh": ssh,
               "slurm": {"time": "00:30:00"}}
    operators = folder / f"operators-{tree.name}-{tasks}.yaml"
    operators.write_text(yaml.safe_dump({"defaults": {"operator": "hpc.default"},
                                         "operators": {"hpc.default": {"kind": "hpc", "backend": backend}}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MATTERSTACK_", "SLURM_"))}
    env.update(SLURM_CONF=cluster["SLURM_CONF"], PYTHONPATH=os.pathsep.join(str(tree / s) for s in SOURCES))
    matterstack = Path(sys.executable).parent / "matterstack"
    made = subprocess.run([str(matterstack), "init", str(workspace), "--operators-config", str(operators)],
                          env=env, cwd=workspace, capture_output=True, text=True)
    if made.returncode != 0:
        sys.exit(f"init failed in {tree}:\n{made.stdout}\n{made.stderr}")
    return workspace, Path(made.stdout.strip().split(" created in ", 1)[1]), env


def counted_step(run: Path, workspace: Path, env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", COUNTED_STEP, str(run)], env=env, cwd=workspace,
                          capture_output=True, text=True)
    line = next((l for l in done.stdout.splitlines() if l.startswith("BENCH ")), None)
    if line is None:
        sys.exit(f"step failed in {run}:\n{done.stdout}\n{done.stderr}")
    return json.loads(line[len("BENCH "):])


def wait_for_jobs(run: Path, env: dict) -> None:
    """Until none of the run's jobs is pending or running."""
    tokens = set(_attempts(run))
    deadline = time.monotonic() + WAIT_FOR_JOBS
    while time.monotonic() < deadline:
        listed = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%j|%T"], env=env, capture_output=True, text=True)
        busy = [row for row in listed.stdout.splitlines()
                if row.split("|")[0] in tokens and row.split("|")[-1] in ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING")]
        if listed.returncode == 0 and not busy:
            return
        time.sleep(1)
    sys.exit(f"the jobs of {run} did not end within {WAIT_FOR_JOBS:g} s")


def _attempts(run: Path) -> dict[str, tuple[str, str]]:
    """``{attempt id: (status, operator_data)}``."""
    with sqlite3.connect(run / "state.sqlite") as db:
        return {row[0]: (row[1], row[2] or "{}") for row in db.execute("select attempt_id, status, operator_data from task_attempts")}


def collecting_tick(tree: Path, tasks: int, cluster: dict, folder: Path) -> dict:
    workspace, run, env = prepared_run(tree, tasks, cluster, folder)
    submitted = counted_step(run, workspace, env)
    wait_for_jobs(run, env)
    counts = counted_step(run, workspace, env)
    attempts = _attempts(run)
    completed = [json.loads(data) for status, data in attempts.values() if status == "COMPLETED"]
    collected = sum(1 for data in completed if {"out.txt", "numbers.txt", "log.txt"} <= set(data.get("output_files", {})))
    return {"seconds": counts["seconds"], "round_trips": counts["exec"] + counts["sftp"], "commands": counts["exec"],
            "sftp_requests": counts["sftp"], "submit_seconds": submitted["seconds"], "attempts": len(attempts),
            "collected": collected}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--baseline", default="977cd39~1", help="commit of the code to compare with")
    args = parser.parse_args()
    cluster = start_cluster()
    rows = {}
    with tempfile.TemporaryDirectory(prefix="bench-slurm-collect-") as name:
        folder = Path(name)
        baseline = baseline_tree(args.baseline, folder)
        try:
            for label, tree in (("baseline", baseline), ("now", ROOT)):
                result = collecting_tick(tree, args.tasks, cluster, folder)
                rows[label] = result
                print(f"{label:8} {args.tasks} finished jobs: collecting tick {result['seconds']:6.2f} s, "
                      f"{result['round_trips']:5} round trips ({result['commands']} commands, "
                      f"{result['sftp_requests']} SFTP requests); {result['collected']}/{result['attempts']} attempts "
                      f"collected with every output (submitting tick {result['submit_seconds']:.2f} s)", flush=True)
                if result["collected"] != args.tasks:
                    sys.exit(f"{label}: only {result['collected']} of {args.tasks} attempts were collected")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)], capture_output=True)
    before, now = rows["baseline"], rows["now"]
    print(f"{args.tasks} finished jobs: collecting tick {before['seconds'] / now['seconds']:.1f}x faster, "
          f"{before['round_trips'] / now['round_trips']:.0f}x fewer round trips "
          f"({before['round_trips']} -> {now['round_trips']})")


if __name__ == "__main__":
    main()
