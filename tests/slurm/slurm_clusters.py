"""The harness's clusters as tests see them: ``start_cluster`` (``slurm-up --json``, failing
the test run loudly when a cluster cannot start) and :class:`Cluster`, its environment and
helpers for asking Slurm directly."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import attrs
import pytest

HARNESS = Path(__file__).resolve().parents[2] / "tools" / "slurm-harness"
PROFILES = ("jobcomp", "accounting")


@attrs.frozen
class Cluster:
    """A running harness cluster: its environment (``slurm-up --json``) and helpers."""

    profile: str
    env: dict

    @property
    def slurm_conf(self) -> str:
        return self.env["SLURM_CONF"]

    def command_env(self, **extra: str) -> dict:
        """The process environment pointed at this cluster (Slurm commands read SLURM_CONF)."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("MATTERSTACK_", "SLURM_"))}
        return {**base, "SLURM_CONF": self.slurm_conf, **extra}

    def slurm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a Slurm command (``squeue``, ``sacct`` ...) against this cluster."""
        done = subprocess.run(list(args), capture_output=True, text=True, env=self.command_env(), timeout=60)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {done.returncode}: {done.stderr}")
        return done

    def ssh_block(self, **extra) -> dict:
        """The ``ssh`` settings block that reaches this cluster's sshd."""
        return {"host": self.env["SLURM_HARNESS_SSH_HOST"], "port": int(self.env["SLURM_HARNESS_SSH_PORT"]),
                "user": self.env["SLURM_HARNESS_SSH_USER"], "key_path": self.env["SLURM_HARNESS_SSH_KEY"],
                "known_hosts": self.env["SLURM_HARNESS_SSH_KNOWN_HOSTS"], **extra}

    def backend_block(self, transport: str, workspace_root: Path, **slurm) -> dict:
        """A ``slurm`` backend block for ``transport`` (``local`` or ``ssh``)."""
        block = {"workspace_root": str(workspace_root), "slurm": slurm}
        if transport == "ssh":
            block["ssh"] = self.ssh_block()
        return block

    def jobs_named(self, name: str) -> list[dict]:
        """Every job this cluster knows by job name: squeue's and the accounting's, by id."""
        jobs = {}
        listed = self.slurm("squeue", "-h", "-t", "all", "-o", "%i|%T|%P|%j").stdout
        for line in listed.splitlines():
            job_id, state, partition, job_name = line.split("|")
            if job_name == name:
                jobs[job_id] = {"job_id": job_id, "state": state, "partition": partition}
        for line in self.accounting_rows():
            if line["name"] == name:
                jobs.setdefault(line["job_id"], line)
        return sorted(jobs.values(), key=lambda j: int(j["job_id"]))

    def accounting_rows(self) -> list[dict]:
        """Every finished job the accounting knows (``sacct -c`` or ``sacct``)."""
        flag = ["-c"] if self.profile == "jobcomp" else []
        text = self.slurm("sacct", *flag, "-X", "-n", "-P", "-S", "now-1days",
                          "-o", "JobID,State,Partition,JobName,ExitCode").stdout
        rows = []
        for line in text.splitlines():
            job_id, state, partition, name, code = line.split("|")
            rows.append({"job_id": job_id, "state": state, "partition": partition, "name": name, "exit_code": code})
        return rows

    def wait_until_forgotten(self, job_ids: list[str], timeout: float = 60) -> None:
        """Wait until squeue no longer lists the jobs (MinJobAge passed and slurmctld purged them)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listed = self.slurm("squeue", "-h", "-t", "all", "-j", ",".join(job_ids) + ",1", "-o", "%i", check=False)
            if listed.returncode == 0 and not set(listed.stdout.split()) & set(job_ids):
                return
            time.sleep(1)
        raise AssertionError(f"squeue still lists {job_ids} after {timeout} s")


def start_cluster(profile: str, **settings: str) -> Cluster:
    """``slurm-up`` for ``profile`` (idempotent); fail the test run loudly when it cannot start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env.update(SLURM_HARNESS_PROFILE=profile, SLURM_HARNESS_QUIET="1", **settings)
    done = subprocess.run([str(HARNESS / "slurm-up"), "--json"], capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:
        pytest.fail(f"slurm-up ({profile}) failed with exit code {done.returncode}:\n{done.stderr}", pytrace=False)
    return Cluster(profile, json.loads(done.stdout))


EACH_PROFILE = pytest.mark.parametrize("profile", ["jobcomp", pytest.param("accounting", marks=pytest.mark.soak)])
"""A test of whole runs on the completion-records cluster by default, and on the slurmdbd one
under ``-m soak`` (the default suite's 20 minutes hold one of each)."""
