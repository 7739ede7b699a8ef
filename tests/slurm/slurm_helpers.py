"""Helpers for the slurm tests: staging a job's inputs, following a job to its end, and a
transport wrapper that counts the commands really sent to the cluster."""

from __future__ import annotations

import time
from pathlib import Path

from matterstack.plugins import JobSpec


def job_spec(tmp_path: Path, token: str, command: str, files: dict[str, str] | None = None, **fields) -> JobSpec:
    """A job whose inputs are staged in ``tmp_path/attempts/<token>``, as ``prepare`` does."""
    attempt_dir = tmp_path / "attempts" / token
    attempt_dir.mkdir(parents=True, exist_ok=True)
    for name, content in (files or {}).items():
        (attempt_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (attempt_dir / name).write_text(content)
    return JobSpec(token=token, command=command, input_dir=attempt_dir, relative_dir=f"ws/run1/task/{token}", **fields)


def follow(backend, job_id: str, *, until=lambda seen: seen.status.is_terminal, timeout: float = 90):
    """Poll ``job_id`` until ``until(observation)``; return the observation."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = backend.poll_many([job_id]).get(job_id)
        if seen is not None and until(seen):
            return seen
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {seen} after {timeout} s")


class CountingTransport:
    """Runs every command on the real cluster through ``inner`` and counts them."""

    def __init__(self, inner):
        self.inner = inner
        self.commands: list[str] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def run(self, command: str, timeout: float):
        self.commands.append(command)
        return self.inner.run(command, timeout)
