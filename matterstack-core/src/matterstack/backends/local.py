"""The ``local`` compute backend: each job is a detached process group on this machine.

Jobs run in the attempt directory itself (no copy) unless ``workspace_root`` is set; then
the inputs are copied to ``<workspace_root>/<workspace>/<run_id>/<task_id>/<attempt_id>/``,
the job runs there, and ``fetch`` copies the outputs back. The job id is the attempt token;
``<run>/.matterstack-local/jobs.jsonl`` records where each job's work directory is, one JSON
line (``{"job": <job id>, "workdir": <path>}``) appended per job before it is launched, so any
later process can poll, fetch or cancel it. (One append instead of one new file per job: on
some disks creating a file costs a millisecond.) Runs started by earlier versions kept one
file per job in ``<run>/.matterstack-local/jobs/``; those are still read. Resource fields are
recorded, not enforced.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path, PurePosixPath

from matterstack.backends import local_jobs
from matterstack.core.status import AttemptStatus
from matterstack.operators.staging import list_outputs
from matterstack.plugins.backend_interfaces import BackendCapabilities, ComputeBackend, JobObservation, JobSpec

_LOCAL_DIR = ".matterstack-local"
_INDEX_LOG = "jobs.jsonl"
_INDEX_FILES = "jobs"
LEGACY_STATE_FILE = "local_backend_state.json"


class LocalBackend(ComputeBackend):
    """Detached local processes; see the module docstring."""

    def __init__(self, settings, context):
        root = getattr(settings, "workspace_root", None)
        self.copy_inputs = root is not None
        base = Path(root).expanduser() if root else Path(context.run_dir)
        self.root = base if base.is_absolute() else (Path.cwd() / base)
        self.run_dir = Path(context.run_dir)
        self.index = self.run_dir / _LOCAL_DIR / _INDEX_LOG
        # What the index says never changes for a job id: remembered, so each poll of each
        # job does not read the index again.
        self._workdirs: dict[str, Path] = {}
        self._index_read = -1  # the size of the index when it was last read
        self._index_fd: int | None = None
        self._index_lock = threading.Lock()  # submissions may come from several threads
        self._real_roots: dict[str, str] = {}

    @property
    def capabilities(self) -> BackendCapabilities:
        return BackendCapabilities(shared_filesystem=True, accounting=False, needs_ssh=False)

    def submit(self, job: JobSpec) -> str:
        workdir = (self.root / job.relative_dir) if self.copy_inputs else job.input_dir
        if self.copy_inputs and not local_jobs.was_launched(workdir):
            shutil.copytree(job.input_dir, workdir, dirs_exist_ok=True)
        resolved = self._real_path(workdir)
        # One write of one line to a file opened O_APPEND: lines from several threads or
        # processes never interleave, and a SIGKILL cannot cut one in half.
        os.write(self._index_writer(), (json.dumps({"job": job.token, "workdir": resolved}) + "\n").encode())
        self._workdirs[job.token] = Path(resolved)
        local_jobs.launch(workdir, job.command, {k: str(v) for k, v in job.env.items()})
        return job.token

    def _real_path(self, workdir: Path) -> str:
        """``workdir`` with symlinks resolved. Below the run folder or the jobs' root every
        component was made by MatterStack, so only those roots are resolved (once each)."""
        text = os.fspath(workdir)
        for root in (self.run_dir, self.root):
            prefix = os.fspath(root) + os.sep
            if text.startswith(prefix) and ".." not in text[len(prefix):].split(os.sep):
                real = self._real_roots.get(prefix)
                if real is None:
                    real = self._real_roots[prefix] = os.path.realpath(root)
                return os.path.join(real, text[len(prefix):])
        return os.path.realpath(workdir)

    def _index_writer(self) -> int:
        with self._index_lock:
            if self._index_fd is None:
                self.index.parent.mkdir(parents=True, exist_ok=True)
                self._index_fd = os.open(self.index, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            return self._index_fd

    def _workdir(self, job_id: str) -> Path | None:
        known = self._workdirs.get(job_id)
        if known is None:
            self._read_index()
            known = self._workdirs.get(job_id)
        if known is not None:
            return known
        try:
            known = self._workdirs[job_id] = Path((self.run_dir / _LOCAL_DIR / _INDEX_FILES / job_id).read_text())
        except (FileNotFoundError, NotADirectoryError):
            return self._legacy_workdir(job_id)
        return known

    def _read_index(self) -> None:
        """Learn every job of the index not known yet (only if it grew since last read)."""
        try:
            if self.index.stat().st_size == self._index_read:
                return
            text = self.index.read_bytes()
        except FileNotFoundError:
            return
        self._index_read = len(text)
        for line in text.splitlines():
            try:
                entry = json.loads(line)
                self._workdirs.setdefault(str(entry["job"]), Path(entry["workdir"]))
            except (ValueError, TypeError, KeyError):
                continue  # not a line this backend wrote: it names no job

    def _legacy_workdir(self, job_id: str) -> Path | None:
        """Where MatterStack 0.2.x ran job ``job_id`` (a task id) of this run, from the
        ``local_backend_state.json`` it kept in the backend root: 0.2.5+ recorded the work
        directory (an absolute path on the machine of the time, found again below this run's
        folder); 0.2.4 ran every job in ``<run>/<task id>/``."""
        try:
            state = json.loads((self.root / LEGACY_STATE_FILE).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(state, dict):
            return None
        recorded = state.get("paths", {}).get(job_id) if isinstance(state.get("paths"), dict) else None
        if isinstance(recorded, str):
            parts = PurePosixPath(recorded).parts
            if self.run_dir.name not in parts:
                return None  # another run's job of the same task id (a shared backend root)
            below = parts[len(parts) - parts[::-1].index(self.run_dir.name):]
            workdir = self.run_dir.joinpath(*below)
        elif "paths" not in state and job_id in state:
            workdir = self.run_dir / job_id
        else:
            return None
        return workdir if workdir.is_dir() else None

    def poll_many(self, job_ids: list[str]) -> dict[str, JobObservation]:
        out = {}
        for job_id in job_ids:
            workdir = self._workdir(job_id)
            if workdir is None:
                out[job_id] = JobObservation(AttemptStatus.FAILED, "lost", f"no record of local job {job_id}")
                continue
            out[job_id] = self._observation(workdir)
        return out

    def _observation(self, workdir: Path) -> JobObservation:
        state = local_jobs.observe(workdir)
        if state.state != "unstarted":
            return _to_observation(state)
        try:
            local_jobs.forget_unstarted(workdir)
        except OSError as exc:  # the disk is still full: look again on the next poll
            return JobObservation(AttemptStatus.SUBMITTED, "unstarted",
                                  f"{state.reason}; it is launched again once it can be ({exc.strerror})")
        return JobObservation(AttemptStatus.SUBMITTED, "unstarted", state.reason, never_started=True)

    def fetch(self, job_id: str, dest: Path, include=None, exclude=None) -> None:
        workdir = self._workdir(job_id)
        if workdir is None or workdir == Path(dest) or workdir.resolve() == Path(dest).resolve():
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

    def close(self) -> None:
        with self._index_lock:
            if self._index_fd is not None:
                os.close(self._index_fd)
                self._index_fd = None

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
