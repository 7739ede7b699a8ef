"""The submitting tick of a Slurm run over SSH: wall time, SSH round trips and sbatch calls,
for N tasks, against a baseline commit in the same invocation.

For each code tree (the baseline, a git worktree of ``--baseline``, default the commit before
batched submission; then this checkout) and each N (``--tasks``, default 200 and 1000): a
workspace of N one-line tasks and an ``hpc`` instance over SSH to the harness (profile
``jobcomp``), ``matterstack init``, then one ``matterstack step`` in a child process that
imports that tree's code first and counts, at paramiko's level (so both trees are counted
the same way), every SSH command started and every SFTP request. sbatch calls are the jobs
Slurm then knows by the run's tokens. Every job is cancelled after. Targets (issue #17): at
most 10 round trips per tick whatever N; 1,000 tasks submitted in at most 15 s on loopback;
with ``job_arrays`` (``--arrays``: this checkout is measured once more with it), at most 2
sbatch calls for 1,000 same-shaped tasks (an array is one sbatch: counted as the distinct
array job ids of the run's attempts).

``--latency-ms 50`` puts a proxy that delays every packet by half that in each direction
(:mod:`delay_proxy`) between the SSH client and sshd: the time of a tick then grows with its
round trips, not with its tasks (the baseline's thousands of round trips take minutes: give
it a small ``--skip-baseline-over``).

    python bench/bench_slurm_submit.py [--tasks 200 1000] [--baseline COMMIT] [--skip-baseline-over 200]
                                       [--arrays] [--latency-ms 50 [--compare-latency]]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from delay_proxy import DelayProxy

ROOT = Path(__file__).resolve().parents[1]
ROUND_TRIPS_TARGET = 10
SECONDS_FOR_1000_TARGET = 15.0
SOURCES = ("matterstack-core/src", "matterstack-ops-slurm/src", "matterstack-ops-human/src", "matterstack-ops-experiment/src")

MAIN_PY = '''\
import json
from pathlib import Path
from matterstack import Campaign, Task, Workflow

N = int((Path(__file__).parent / "n.txt").read_text())


class Many(Campaign):
    def plan(self, state):
        if state:
            return None
        workflow = Workflow()
        for i in range(N):
            workflow.add_task(Task(task_id=f"t{i:05d}", command="echo ok > out.txt", files={"in.txt": f"{i}\\n"}))
        return workflow

    def analyze(self, state, results):
        return {}


def get_campaign():
    return Many()
'''

COUNTED_STEP = '''\
import json, sys, time
import paramiko
counts = {"exec": 0, "sftp": 0}
exec_command = paramiko.Channel.exec_command
request = paramiko.SFTPClient._request
def counted_exec(self, *a, **k):
    counts["exec"] += 1
    return exec_command(self, *a, **k)
def counted_request(self, *a, **k):
    counts["sftp"] += 1
    return request(self, *a, **k)
paramiko.Channel.exec_command = counted_exec
paramiko.SFTPClient._request = counted_request
from matterstack.cli.app import main
started = time.perf_counter()
try:
    main(["step", sys.argv[1]])
except SystemExit:
    pass
counts["seconds"] = time.perf_counter() - started
print("BENCH " + json.dumps(counts))
'''


def start_cluster() -> dict:
    env = {**os.environ, "SLURM_HARNESS_PROFILE": "jobcomp", "SLURM_HARNESS_QUIET": "1"}
    done = subprocess.run([str(ROOT / "tools/slurm-harness/slurm-up"), "--json"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"slurm-up failed:\n{done.stderr}")
    return json.loads(done.stdout)


def baseline_tree(commit: str, folder: Path) -> Path:
    tree = folder / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit],
                   check=True, capture_output=True)
    return tree


def one_tick(tree: Path, tasks: int, cluster: dict, folder: Path, arrays: bool = False,
             ssh_port: int | None = None) -> dict:
    label = f"{tree.name}-{tasks}" + ("-arrays" if arrays else "")
    workspace = folder / f"ws-{label}"
    workspace.mkdir(parents=True)
    (workspace / "main.py").write_text(MAIN_PY)
    (workspace / "n.txt").write_text(str(tasks))
    ssh = {"host": cluster["SLURM_HARNESS_SSH_HOST"], "port": ssh_port or int(cluster["SLURM_HARNESS_SSH_PORT"]),
           "user": cluster["SLURM_HARNESS_SSH_USER"], "key_path": cluster["SLURM_HARNESS_SSH_KEY"],
           "known_hosts": known_hosts(cluster, folder, ssh_port)}
    slurm = {"time": "00:30:00", **({"job_arrays": True} if arrays else {})}
    backend = {"type": "slurm", "workspace_root": str(folder / f"remote-{label}"), "ssh": ssh, "slurm": slurm}
    operators = folder / f"operators-{label}.yaml"
    operators.write_text(yaml.safe_dump({"defaults": {"operator": "hpc.default"},
                                         "operators": {"hpc.default": {"kind": "hpc", "backend": backend}}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MATTERSTACK_", "SLURM_"))}
    env.update(SLURM_CONF=cluster["SLURM_CONF"], PYTHONPATH=os.pathsep.join(str(tree / s) for s in SOURCES))
    matterstack = Path(sys.executable).parent / "matterstack"
    made = subprocess.run([str(matterstack), "init", str(workspace), "--operators-config", str(operators)],
                          env=env, cwd=workspace, capture_output=True, text=True)
    if made.returncode != 0:
        sys.exit(f"init failed in {tree}:\n{made.stdout}\n{made.stderr}")
    run = made.stdout.strip().split(" created in ", 1)[1]
    done = subprocess.run([sys.executable, "-c", COUNTED_STEP, run], env=env, cwd=workspace,
                          capture_output=True, text=True)
    line = next((l for l in done.stdout.splitlines() if l.startswith("BENCH ")), None)
    if line is None:
        sys.exit(f"step failed in {tree}:\n{done.stdout}\n{done.stderr}")
    counts = json.loads(line[len("BENCH "):])
    if arrays:
        return _cancel_arrays(Path(run), counts, env)
    tokens = set(_tokens(Path(run)))
    listed = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i|%j"], env=env, capture_output=True, text=True).stdout
    queued = {row.split("|")[0] for row in listed.splitlines() if row.split("|")[-1] in tokens}
    if queued:
        subprocess.run(["scancel", *queued], env=env, capture_output=True)
    # jobs that ended and left squeue (MinJobAge) are in the completion records
    ended = subprocess.run(["sacct", "-c", "-X", "-n", "-P", "-S", "now-1days", "-o", "JobID,JobName"],
                           env=env, capture_output=True, text=True).stdout
    jobs = queued | {row.split("|")[0] for row in ended.splitlines() if row.split("|")[-1] in tokens}
    return {"seconds": counts["seconds"], "round_trips": counts["exec"] + counts["sftp"],
            "commands": counts["exec"], "sftp_requests": counts["sftp"], "sbatch": len(jobs), "attempts": len(tokens)}


def _cancel_arrays(run: Path, counts: dict, env: dict) -> dict:
    """The figures of a tick with job arrays: each distinct array job id was one sbatch."""
    import sqlite3

    with sqlite3.connect(run / "state.sqlite") as db:
        ids = [row[0] for row in db.execute("select external_id from task_attempts") if row[0]]
    masters = {job_id.split("_")[0] for job_id in ids}
    if masters:
        subprocess.run(["scancel", *masters], env=env, capture_output=True)
    return {"seconds": counts["seconds"], "round_trips": counts["exec"] + counts["sftp"],
            "commands": counts["exec"], "sftp_requests": counts["sftp"], "sbatch": len(masters), "attempts": len(ids)}


def known_hosts(cluster: dict, folder: Path, port: int | None) -> str:
    """The harness's known_hosts, or a copy naming the proxy's port for the same host key."""
    original = cluster["SLURM_HARNESS_SSH_KNOWN_HOSTS"]
    if port is None:
        return original
    copy = folder / f"known_hosts-{port}"
    lines = Path(original).read_text().splitlines()
    copy.write_text("".join(f"[127.0.0.1]:{port} {line.split(' ', 1)[1]}\n" for line in lines[:1]))
    return str(copy)


def _tokens(run: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(run / "state.sqlite") as db:
        return [row[0] for row in db.execute("select attempt_id from task_attempts")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--baseline", default="96c4a9a~1", help="commit of the code to compare with")
    parser.add_argument("--skip-baseline-over", type=int, default=None,
                        help="run the baseline only for task counts up to this (it takes ~0.3 s per task)")
    parser.add_argument("--arrays", action="store_true", help="measure this checkout with job_arrays too")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="round-trip time added to every SSH packet")
    parser.add_argument("--compare-latency", action="store_true",
                        help="with --latency-ms: measure each tick direct and through the proxy, one after the other")
    args = parser.parse_args()
    cluster = start_cluster()
    proxy = DelayProxy(("127.0.0.1", int(cluster["SLURM_HARNESS_SSH_PORT"])), args.latency_ms / 2000)
    latencies = [0.0, args.latency_ms] if args.compare_latency and args.latency_ms else [args.latency_ms]
    with tempfile.TemporaryDirectory(prefix="bench-slurm-submit-") as name, proxy as proxy_port:
        folder = Path(name)
        if args.latency_ms:
            print(f"over a proxy adding {args.latency_ms:g} ms per round trip", flush=True)
        baseline = baseline_tree(args.baseline, folder)
        try:
            rows, delayed = [], {}
            trees = (("baseline", baseline), ("now", ROOT)) + ((("arrays", ROOT),) if args.arrays else ())
            for tasks in args.tasks:
                for label, tree in trees:
                    if label == "baseline" and args.skip_baseline_over is not None and tasks > args.skip_baseline_over:
                        continue
                    for latency in latencies:
                        result = one_tick(tree, tasks, cluster, folder / f"{latency:g}ms", arrays=label == "arrays",
                                          ssh_port=proxy_port if latency else None)
                        if latency == latencies[0]:
                            rows.append((label, tasks, result))
                        else:
                            delayed[(label, tasks)] = result
                        print(f"{label:8} {tasks:5} tasks{f' +{latency:g} ms' if latency else '':>8}: "
                              f"{result['seconds']:7.2f} s, {result['round_trips']:6} round trips "
                              f"({result['commands']} commands, {result['sftp_requests']} SFTP requests), "
                              f"{result['sbatch']} sbatch, {result['attempts']} attempts", flush=True)
                        time.sleep(2)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)], capture_output=True)
    for (label, tasks), result in delayed.items():
        direct = next(r for l, n, r in rows if (l, n) == (label, tasks))
        print(f"{label} {tasks} tasks: +{args.latency_ms:g} ms per round trip added {result['seconds'] - direct['seconds']:.2f} s "
              f"to the tick ({result['round_trips']} round trips)")
    now = {tasks: r for label, tasks, r in rows if label == "now"}
    before = {tasks: r for label, tasks, r in rows if label == "baseline"}
    for tasks, result in now.items():
        if tasks in before:
            print(f"{tasks} tasks: {before[tasks]['seconds'] / result['seconds']:.1f}x faster, "
                  f"{before[tasks]['round_trips'] / result['round_trips']:.0f}x fewer round trips")
    worst = max(r["round_trips"] for r in now.values())
    print(f"round trips per tick: at most {worst} (target ≤ {ROUND_TRIPS_TARGET}: "
          f"{'met' if worst <= ROUND_TRIPS_TARGET else 'NOT met'})")
    if 1000 in now:
        seconds = now[1000]["seconds"]
        print(f"1,000 tasks submitted in {seconds:.1f} s (target ≤ {SECONDS_FOR_1000_TARGET:g} s: "
              f"{'met' if seconds <= SECONDS_FOR_1000_TARGET else 'NOT met'})")
    arrays = {tasks: r for label, tasks, r in rows if label == "arrays"}
    if 1000 in arrays:
        print(f"with job_arrays, 1,000 tasks: {arrays[1000]['seconds']:.1f} s, {arrays[1000]['sbatch']} sbatch calls "
              f"(target ≤ 2: {'met' if arrays[1000]['sbatch'] <= 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
