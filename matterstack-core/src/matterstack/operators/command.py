"""The base of kinds that run a task's command: :class:`CommandOperator`.

A subclass says how the command starts (:meth:`CommandOperator.command`) and, if not in the
attempt directory, where (:meth:`CommandOperator.work_dir`); the base does the rest.
``prepare`` stages the task's files and writes ``manifest.json``; ``submit`` starts the
command as a detached process group on this machine, tagged with the attempt token, so it
outlives the ``matterstack`` command that started it, submitting one token twice runs it
once, and ``reconcile`` finds it after a crash; ``poll`` reads each job's files; ``cancel``
stops the whole process group (SIGTERM, then SIGKILL after a grace period); ``collect``
records every file the command left with its sha256. Exit code 0 means COMPLETED, anything
else FAILED with the exit code and the tail of ``stderr.log`` as the reason. The process
handling is that of the built-in ``local`` kind (:mod:`matterstack.backends.local_jobs`):
a live process counts as the job only if its command line is the job's, so a zombie or a
reused pid never does.

:class:`~matterstack.operators.compute.ComputeOperator` (kinds ``local`` and ``hpc``) builds
on this class too: it keeps staging and collection and hands the running to a compute backend.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from matterstack.backends import local_jobs
from matterstack.core.status import AttemptStatus
from matterstack.operators.staging import list_outputs, sha256_file, stage_files, write_manifest
from matterstack.plugins.interfaces import AttemptContext, CollectResult, Observation, Operator, SubmitResult

STDERR_TAIL_LINES = 5


def stderr_tail(folder: Path, lines: int = STDERR_TAIL_LINES) -> str:
    """The last lines of ``stderr.log`` in ``folder``, on one line, for a failure reason."""
    path = folder / "stderr.log"
    if not path.is_file():
        return ""
    text = path.read_text(errors="replace").strip().splitlines()[-lines:]
    return " | ".join(line.strip() for line in text if line.strip())


class CommandOperator(Operator):
    """Runs each attempt's command as a detached process group on this machine."""

    def command(self, attempt: AttemptContext) -> str | list[str]:
        """How the attempt's command starts: shell code for ``/bin/sh`` (a string) or a
        program and its arguments (a list). Asked only when the command is started; raise
        :class:`PermanentOperatorError` to refuse the attempt. Default: the task's command."""
        return attempt.task.command

    def work_dir(self, attempt: AttemptContext) -> Path:
        """Where the command runs. Default: the attempt directory. Another folder gets a
        copy of the attempt directory before the command starts, and ``collect`` copies the
        outputs back."""
        return attempt.attempt_dir

    def environment(self, attempt: AttemptContext) -> dict[str, str]:
        """Variables added to this process's environment for the command. Default: the task's env."""
        return {name: str(value) for name, value in attempt.task.env.items()}

    def prepare(self, attempt: AttemptContext) -> None:
        os.makedirs(attempt.attempt_dir, exist_ok=True)
        hashes = stage_files(attempt.task, attempt.attempt_dir)
        write_manifest(attempt.task, attempt.attempt_dir, operator_key=self.key,
                       token=attempt.attempt_id, hashes=hashes)

    def submit(self, attempt: AttemptContext) -> SubmitResult:
        workdir = self.work_dir(attempt)
        if not local_jobs.was_launched(workdir):
            self._launch(attempt, workdir)
        return SubmitResult(external_id=attempt.attempt_id, reason=f"process started on {self.key}")

    def _launch(self, attempt: AttemptContext, workdir: Path) -> None:
        command = self.command(attempt)
        if not isinstance(command, str):
            command = shlex.join(command)  # the job's shell runs it as given, nothing expanded
        if workdir != attempt.attempt_dir:
            shutil.copytree(attempt.attempt_dir, workdir, dirs_exist_ok=True)
        local_jobs.launch(workdir, command, self.environment(attempt))

    def poll(self, attempts: list[AttemptContext]) -> dict[str, Observation]:
        return {a.attempt_id: self._observation(a) for a in attempts}

    def _observation(self, attempt: AttemptContext) -> Observation:
        workdir = self.work_dir(attempt)
        job = local_jobs.observe(workdir)
        token = attempt.attempt_id
        if job.state == "exited" and job.exit_code == 0:
            return Observation(AttemptStatus.COMPLETED, token, "exit code 0", exit_code=0)
        if job.state == "exited":
            return Observation(AttemptStatus.FAILED, token, self.failure_reason(attempt, job.exit_code),
                               exit_code=job.exit_code)
        if job.state == "running":
            return Observation(AttemptStatus.RUNNING, token, f"process group {job.pid} running")
        if job.state == "unstarted":  # nothing of it ran: started again, once
            try:
                local_jobs.forget_unstarted(workdir)
                self._launch(attempt, workdir)
            except OSError as exc:  # the disk is still full: look again on the next poll
                return Observation(AttemptStatus.SUBMITTED, token, f"{job.reason}; starting it again failed ({exc.strerror})")
            return Observation(AttemptStatus.SUBMITTED, token, f"{job.reason}; started again")
        status = {"queued": AttemptStatus.SUBMITTED, "cancelled": AttemptStatus.CANCELLED,
                  "lost": AttemptStatus.FAILED}[job.state]
        return Observation(status, token, job.reason)

    def failure_reason(self, attempt: AttemptContext, exit_code: int) -> str:
        """``exit code N`` and the tail of the attempt's ``stderr.log``, for a FAILED attempt."""
        tail = stderr_tail(attempt.attempt_dir)
        return f"exit code {exit_code}" + (f": {tail}" if tail else "")

    def reconcile(self, attempts: list[AttemptContext]) -> dict[str, Observation | None]:
        return {
            a.attempt_id: Observation(AttemptStatus.SUBMITTED, external_id=a.attempt_id,
                                      reason="found by its token after an interrupted submission")
            if local_jobs.was_launched(self.work_dir(a)) else None
            for a in attempts
        }

    def fetch_outputs(self, attempt: AttemptContext) -> None:
        """Bring the outputs into the attempt directory before ``collect`` lists them: from
        :meth:`work_dir` when the command ran elsewhere."""
        workdir = self.work_dir(attempt)
        if workdir == attempt.attempt_dir:
            return
        for name, path in list_outputs(workdir, attempt.task.download_patterns).items():
            target = attempt.attempt_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)

    def collect(self, attempt: AttemptContext) -> CollectResult:
        self.fetch_outputs(attempt)
        staged = set(attempt.task.files)
        outputs = {name: path for name, path in list_outputs(attempt.attempt_dir, attempt.task.download_patterns).items()
                   if name not in staged}
        return CollectResult(files={name: name for name in outputs},
                             sha256={name: sha256_file(path) for name, path in outputs.items()})

    def cancel(self, attempt: AttemptContext) -> None:
        local_jobs.cancel(self.work_dir(attempt))

    def describe_wait(self, attempt: AttemptContext) -> str:
        job = local_jobs.observe(self.work_dir(attempt))
        if job.state == "running":
            return f"process group {job.pid} to exit on {self.key}"
        if job.state == "queued":
            return f"the command to start on {self.key}"
        return f"the next tick to record that the command {job.state} on {self.key}"
