"""Scheduler commands per tick for the ``slurm`` backend, on the project's real test cluster.

Starts the harness (``tools/slurm-harness``, profile ``jobcomp`` unless ``--profile``),
submits N jobs (default 200) through the backend, then polls all of them once per tick, the
way the ``hpc`` operator does, counting every command the backend sends (a transport
wrapper counts; the commands really run). Ticks: all jobs in flight; then, after half of them
were cancelled and squeue has forgotten them, the tick that settles them. Target: at most 2
scheduler commands per tick per instance. Cancels every job at the end.

    python bench/bench_slurm_commands.py [--jobs N] [--transport local|ssh] [--profile jobcomp|accounting]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 2


class CountingTransport:
    """Runs every command through ``inner`` on the real cluster, and counts them."""

    def __init__(self, inner):
        self.inner = inner
        self.count = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def run(self, command, timeout):
        self.count += 1
        return self.inner.run(command, timeout)


def start_cluster(profile: str) -> dict:
    env = {**os.environ, "SLURM_HARNESS_PROFILE": profile, "SLURM_HARNESS_QUIET": "1"}
    done = subprocess.run([str(ROOT / "tools/slurm-harness/slurm-up"), "--json"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"slurm-up failed:\n{done.stderr}")
    return json.loads(done.stdout)


def build_backend(cluster: dict, transport: str, workdir: Path):
    from matterstack.plugins import OperatorContext, get_plugin_host, structure_settings

    block = {"workspace_root": str(workdir / "cluster"), "slurm": {"time": "00:30:00"}}
    if transport == "ssh":
        block["ssh"] = {"host": cluster["SLURM_HARNESS_SSH_HOST"], "port": int(cluster["SLURM_HARNESS_SSH_PORT"]),
                        "user": "root", "key_path": cluster["SLURM_HARNESS_SSH_KEY"],
                        "known_hosts": cluster["SLURM_HARNESS_SSH_KNOWN_HOSTS"]}
    host = get_plugin_host()
    registration = host.compute_backend("slurm")
    settings = structure_settings(registration.settings, block, where="bench")
    context = OperatorContext(run_id="bench", run_dir=workdir / "run", workspace_slug="bench", host=host)
    return registration.factory(settings, context)


def tick(backend, job_ids: list[str]) -> tuple[int, float, dict]:
    """One poll of every job; the commands it cost, its wall time and the statuses seen."""
    counter = backend.transport
    before, start = counter.count, time.perf_counter()
    seen = backend.poll_many(job_ids)
    statuses: dict[str, int] = {}
    for observation in seen.values():
        statuses[observation.status.value] = statuses.get(observation.status.value, 0) + 1
    return counter.count - before, time.perf_counter() - start, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--transport", choices=("local", "ssh"), default="local")
    parser.add_argument("--profile", choices=("jobcomp", "accounting"), default="jobcomp")
    args = parser.parse_args()
    from matterstack.plugins import JobSpec

    cluster = start_cluster(args.profile)
    os.environ["SLURM_CONF"] = cluster["SLURM_CONF"]
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        backend = build_backend(cluster, args.transport, workdir)
        job_ids = []
        try:
            start = time.perf_counter()
            for index in range(args.jobs):
                token = str(uuid.uuid4())
                inputs = workdir / "attempts" / token
                inputs.mkdir(parents=True)
                job_ids.append(backend.submit(JobSpec(token=token, command="sleep 600", input_dir=inputs,
                                                      relative_dir=f"bench/run/t{index}/{token}")))
            submitted = time.perf_counter() - start
            backend.transport = CountingTransport(backend.transport)
            rows = [("in flight", *tick(backend, job_ids)) for _ in range(3)]
            half = job_ids[: len(job_ids) // 2]
            subprocess.run(["scancel", *half], check=True)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                listed = subprocess.run(["squeue", "-h", "-t", "all", "-j", ",".join(half), "-o", "%i"],
                                        capture_output=True, text=True).stdout.split()
                if not listed:
                    break
                time.sleep(1)
            rows.append(("half cancelled, forgotten by squeue", *tick(backend, job_ids)))
            rows.append(("after that", *tick(backend, job_ids)))
        finally:
            subprocess.run(["scancel", *job_ids], check=False)
            backend.close()
    print(f"slurm backend, {args.transport} transport, profile {args.profile}: {args.jobs} jobs submitted in {submitted:.1f} s")
    print(f"{'tick':<38} {'commands':>8} {'seconds':>8}  statuses")
    for name, count, seconds, statuses in rows:
        print(f"{name:<38} {count:>8} {seconds:>8.3f}  {statuses}")
    worst = max(count for _, count, _, _ in rows)
    verdict = "ok" if worst <= TARGET else "OVER TARGET"
    print(f"most commands in one tick: {worst} (target <= {TARGET}): {verdict}")
    if worst > TARGET:
        sys.exit(1)


if __name__ == "__main__":
    main()
