"""The ``shell`` operator: run a task's command with a shell, as a detached process.

``submit`` starts the command in the attempt directory, tagged with the attempt token (see
:mod:`matterstack_ops_shell.jobs`), so submitting a token twice runs it once and
``reconcile`` finds it after a crash. ``poll`` reads every attempt's state from one listing
of the instance's job folder. Exit code 0 means COMPLETED; anything else FAILED, with the
exit code and the tail of stderr as the reason.
"""

from __future__ import annotations

import shutil

from matterstack.plugins import (
    AttemptContext,
    AttemptStatus,
    CollectResult,
    Observation,
    Operator,
    PermanentOperatorError,
    SubmitResult,
    list_outputs,
    sha256_file,
    stage_files,
    write_manifest,
)
from matterstack_ops_shell import jobs

STDERR_TAIL_LINES = 5


class ShellOperator(Operator):
    """Runs each attempt's command with ``settings.shell``, one process group per attempt."""

    def __init__(self, key, settings, context):
        super().__init__(key, settings, context)
        self.jobs = context.run_dir / "shell-jobs" / key

    def prepare(self, attempt: AttemptContext) -> None:
        attempt.attempt_dir.mkdir(parents=True, exist_ok=True)
        hashes = stage_files(attempt.task, attempt.attempt_dir)
        write_manifest(attempt.task, attempt.attempt_dir, operator_key=self.key, token=attempt.attempt_id, hashes=hashes)

    def submit(self, attempt: AttemptContext) -> SubmitResult:
        token = attempt.attempt_id
        if not jobs.known(self.jobs, [token]):
            shell = shutil.which(self.settings.shell)
            if shell is None:
                raise PermanentOperatorError(
                    f"{self.key}: shell {self.settings.shell!r} is not an executable on this machine",
                    fix=f"set operators.{self.key}.shell in operators.yaml to an installed shell, e.g. /bin/sh",
                )
            jobs.launch(self.jobs, token, shell, attempt.task.command, attempt.attempt_dir, dict(attempt.task.env))
        return SubmitResult(external_id=token, reason=f"started with {self.settings.shell} on {self.key}")

    def poll(self, attempts: list[AttemptContext]) -> dict[str, Observation]:
        states = jobs.observe(self.jobs, [a.attempt_id for a in attempts])
        return {a.attempt_id: self._observation(a, states[a.attempt_id]) for a in attempts}

    def reconcile(self, attempts: list[AttemptContext]) -> dict[str, Observation | None]:
        found = jobs.known(self.jobs, [a.attempt_id for a in attempts])
        return {
            a.attempt_id: Observation(AttemptStatus.SUBMITTED, external_id=a.attempt_id,
                                      reason="found by its pid file after an interrupted submission")
            if a.attempt_id in found else None
            for a in attempts
        }

    def collect(self, attempt: AttemptContext) -> CollectResult:
        staged = set(attempt.task.files)
        outputs = {name: path for name, path in list_outputs(attempt.attempt_dir, attempt.task.download_patterns).items()
                   if name not in staged}
        return CollectResult(files={name: name for name in outputs},
                             sha256={name: sha256_file(path) for name, path in outputs.items()})

    def cancel(self, attempt: AttemptContext) -> None:
        jobs.cancel(self.jobs, attempt.attempt_id)

    def describe_wait(self, attempt: AttemptContext) -> str:
        job = jobs.observe(self.jobs, [attempt.attempt_id])[attempt.attempt_id]
        if job.state == "running":
            return f"{self.settings.shell} process group {job.pgid} to exit on {self.key}"
        if job.state == "starting":
            return f"{self.settings.shell} to start the command on {self.key}"
        return f"the next tick to record that the command {job.state} on {self.key}"

    def _observation(self, attempt: AttemptContext, job: jobs.JobState) -> Observation:
        external_id = attempt.attempt_id
        if job.state == "exited" and job.exit_code == 0:
            return Observation(AttemptStatus.COMPLETED, external_id, "exit code 0", exit_code=0)
        if job.state == "exited":
            tail = self._stderr_tail(attempt)
            reason = f"exit code {job.exit_code}" + (f": {tail}" if tail else "")
            return Observation(AttemptStatus.FAILED, external_id, reason, exit_code=job.exit_code)
        if job.state == "cancelled":
            return Observation(AttemptStatus.CANCELLED, external_id, "cancelled by request")
        if job.state == "running":
            return Observation(AttemptStatus.RUNNING, external_id, f"process group {job.pgid} running")
        if job.state == "starting":
            return Observation(AttemptStatus.SUBMITTED, external_id, f"waiting for {self.settings.shell} to start")
        return Observation(AttemptStatus.FAILED, external_id, "the process ended without recording an exit code")

    def _stderr_tail(self, attempt: AttemptContext) -> str:
        path = attempt.attempt_dir / "stderr.log"
        if not path.is_file():
            return ""
        lines = path.read_text(errors="replace").strip().splitlines()[-STDERR_TAIL_LINES:]
        return " | ".join(line.strip() for line in lines if line.strip())
