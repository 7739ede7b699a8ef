"""The local half of a batch submission: stage every job's ``submit.sh``, send the batch
(:mod:`~matterstack_ops_slurm.batch_submit`) and turn each answer line into the job's outcome
the moment it arrives, so the core records it before the next line is read."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

from matterstack.errors import BackPressureError, PermanentOperatorError, TransientOperatorError
from matterstack.plugins import JobSpec
from matterstack_ops_slurm import batch_submit, job_arrays, scheduler, submit_limits

RETRY = "the next tick asks for these jobs by token and submits those not there"


def submit_jobs(backend, jobs: list[JobSpec], answer) -> None:
    """Submit ``jobs`` through ``backend`` (a SlurmBackend) in one round trip, calling
    ``answer(token, job id or error)`` per job as its line arrives. Jobs left unanswered (the
    script stopped at an outage, or the connection dropped) raise one TransientOperatorError
    at the end; they stay unsubmitted or are found by their token next time. With
    ``job_arrays``, jobs of one shape go as job arrays (:mod:`~matterstack_ops_slurm.job_arrays`)."""
    staged = []
    for job in jobs:
        try:
            workdir = backend.work_directory(job)
            script = scheduler.submit_script(job, backend.defaults)
            options = scheduler.relative_file_options(job, backend.defaults)
        except PermanentOperatorError as exc:
            answer(job.token, exc)
            continue
        control = Path(job.input_dir) / scheduler.CONTROL_DIR
        control.mkdir(parents=True, exist_ok=True)
        (control / "submit.sh").write_text(script)
        backend.remember("tokens", job.token, workdir)
        staged.append((job, options, workdir))
    if not staged:
        return
    numbers = [None] * len(staged)
    if backend.defaults.job_arrays:
        numbers = job_arrays.groups((job_arrays.shape(job, backend.defaults) for job, _, _ in staged),
                                    backend.array_limit())
    root = backend.workspace_root().rstrip("/")
    members = Counter(numbers)
    packed, drivers, sizes = [], {}, {}
    for index, ((job, options, workdir), number) in enumerate(zip(staged, numbers)):
        if number is not None and number not in drivers:
            drivers[number] = job_arrays.driver_script(job, backend.defaults)
        sizes[job.token] = members[number] if number is not None else 1
        anchor = workdir.replace("%", "%%")  # sbatch expands % in file names: %% is a literal %
        packed.append(batch_submit.PackedJob(
            index=index, token=job.token, group=number, relative=workdir[len(root) + 1:], workdir=workdir,
            folder=Path(job.input_dir), arguments=tuple(f"--{name}={anchor}/{value}" for name, value in options)))
    answers = _Answers(backend, {job.token: workdir for job, _, workdir in staged}, answer, sizes)
    batch = uuid.uuid4().hex[:12]
    command = batch_submit.script(backend.workspace_root(), batch, backend.site.accounting, backend.defaults.array_parallel)
    with batch_submit.pack(batch, packed, drivers) as stream:
        result = backend.transport.run_streaming(command, stream, answers.line, backend.timeout)
    answers.finish(result)


class _Answers:
    """Reads the script's lines: one outcome per token, handed on at once."""

    def __init__(self, backend, workdirs: dict[str, str], answer, sizes: dict[str, int]):
        self.backend = backend
        self.workdirs = dict(workdirs)
        self.answer = answer
        self.sizes = sizes
        self.refusal: BackPressureError | None = None
        self.trouble = ""

    def line(self, text: str) -> None:
        parsed = batch_submit.parse_answer(text)
        if parsed is None:
            return
        kind, token, detail = parsed
        if kind == "error":
            self.trouble = detail
            return
        workdir = self.workdirs.pop(token, None)
        if workdir is None:
            return
        label = self.backend.transport.label
        if kind in ("adopted", "submitted"):
            if scheduler_job_id(detail):
                self.backend.remember("jobs", detail, workdir)
                self.answer(token, detail)
            else:
                self.workdirs[token] = workdir
                self.trouble = f"unreadable answer for {token}: {detail[:100]!r}"
        elif kind == "refused" or (kind == "failed" and submit_limits.submit_refusal(detail)):
            if self.refusal is None and self.sizes.get(token, 1) > 1:
                self.backend.learn_array_limit(self.sizes[token] // 2)
            self.refusal = BackPressureError(
                f"Slurm takes no more jobs from you for now ({submit_limits.submit_refusal(detail) or detail[:300]})",
                fix="none needed: the next tick submits it again; a max_concurrent under the site's limit avoids the refusals")
            self.answer(token, self.refusal)
        elif kind == "waiting" and self.refusal is not None:
            self.answer(token, self.refusal)
        elif kind in ("outage", "waiting"):
            self.workdirs[token] = workdir  # unanswered: an outage for the whole rest of the batch
            self.trouble = self.trouble or f"sbatch failed: {detail[:300]}"
        elif scheduler.is_transient(detail):
            self.answer(token, TransientOperatorError(f"{label}: sbatch failed: {detail[:300]}", fix="the next tick retries"))
        else:
            self.answer(token, PermanentOperatorError(
                f"sbatch refused the job: {detail[:300]}",
                fix="check the slurm settings (partition, account, time) and the task's resources"))

    def finish(self, result) -> None:
        if not self.workdirs:
            return
        why = self.trouble or " ".join(result.stderr.split())[:300] or f"exit code {result.exit_code}"
        raise TransientOperatorError(
            f"{self.backend.transport.label}: {len(self.workdirs)} of the batch's jobs got no answer ({why})", fix=RETRY)


def scheduler_job_id(text: str) -> bool:
    """Whether ``text`` is a Slurm job id (``123``, ``123_4``, ``123+1``)."""
    return bool(text) and text[0].isdigit() and all(c.isdigit() or c in "_+" for c in text)
