"""The ``local`` compute backend: each job is a detached process group on this machine.

Jobs run in the attempt directory itself (no copy) unless ``workspace_root`` is set; then
the inputs are copied to ``<workspace_root>/<workspace>/<run_id>/<task_id>/<attempt_id>/``,
the job runs there, and ``fetch`` copies the outputs back. The job id is the attempt token;
``<root>/.matterstack-local/jobs/<job id>`` records where each job's work directory is, so
any later process can poll, fetch or cancel it. Resource fields are recorded, not enforced.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from matterstack.backends import local_jobs
from matterstack.core.status import AttemptStatus
from matterstack.operators.staging import list_outputs
from matterstack.plugins.interfaces import BackendCapabilities, ComputeBackend, JobObservation, JobSpec

_INDEX = ".matterstack-local/jobs"


class LocalBackend(ComputeBackend):
    """Detached local processes; see the module docstring."""

    def __init__(self, settings, context):
        root = getattr(settings, "workspace_root", None)
        self.copy_inputs = root is not None
        base = Path(root).expanduser() if root else Path(context.run_dir)
        self.root = base if base.is_absolute() else (Path.cwd() / base)
        self.index = Path(context.run_dir) / _INDEX

    @property
    def capabilities(self) -> BackendCapabilities:
        return BackendCapabilities(shared_filesystem=True, accounting=False, needs_ssh=False)

    def submit(self, job: JobSpec) -> str:
        workdir = (self.root / job.relative_dir) if self.copy_inputs else job.input_dir
        if self.copy_inputs and not local_jobs.was_launched(workdir):
            shutil.copytree(job.input_dir, workdir, dirs_exist_ok=True)
        self.index.mkdir(parents=True, exist_ok=True)
        (self.index / job.token).write_text(str(workdir.resolve()))
        local_jobs.launch(workdir, job.command, {k: str(v) for k, v in job.env.items()})
        return job.token

    def _workdir(self, job_id: str) -> Path | None:
        try:
            return Path((self.index / job_id).read_text())
        except FileNotFoundError:
            return None

    def poll_many(self, job_ids: list[str]) -> dict[str, JobObservation]:
        out = {}
        for job_id in job_ids:
            workdir = self._workdir(job_id)
            if workdir is None:
                out[job_id] = JobObservation(AttemptStatus.FAILED, "lost", f"no record of local job {job_id}")
                continue
            out[job_id] = _to_observation(local_jobs.observe(workdir))
        return out

    def fetch(self, job_id: str, dest: Path, include=None, exclude=None) -> None:
        workdir = self._workdir(job_id)
        if workdir is None or workdir.resolve() == Path(dest).resolve():
            return
        patterns = {"include": include or [], "exclude": exclude or []}
        for name, path in list_outputs(workdir, patterns).items():
            target = Path(dest) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)

    def cancel(self, job_id: str) -> None:
        workdir = self._workdir(job_id)
        if workdir is not None:
            local_jobs.cancel(workdir)

    def find_by_token(self, tokens: list[str]) -> dict[str, str]:
        found = {}
        for token in tokens:
            workdir = self._workdir(token)
            if workdir is not None and local_jobs.was_launched(workdir):
                found[token] = token
        return found


def _to_observation(state: local_jobs.LocalJobState) -> JobObservation:
    if state.state == "exited":
        status = AttemptStatus.COMPLETED if state.exit_code == 0 else AttemptStatus.FAILED
        return JobObservation(status, "exited", state.reason, state.exit_code)
    status = {
        "queued": AttemptStatus.SUBMITTED,
        "running": AttemptStatus.RUNNING,
        "cancelled": AttemptStatus.CANCELLED,
        "lost": AttemptStatus.FAILED,
    }[state.state]
    return JobObservation(status, state.state, state.reason)
