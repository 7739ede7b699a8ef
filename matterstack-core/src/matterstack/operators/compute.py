"""The compute operator shared by kinds ``local`` and ``hpc``: run ``task.command`` through a
compute backend, in a work directory holding the task's staged files.

A :class:`~matterstack.operators.command.CommandOperator` whose commands a backend runs:
``prepare`` stages the inputs into the attempt directory and writes ``manifest.json`` and
``config_snapshot/``; ``submit`` hands a :class:`JobSpec` to the backend, tagged with the
attempt token; ``poll`` asks the backend about all of the instance's jobs at once;
``fetch_results`` brings the outputs of all the attempts a tick collects down in one
``fetch_many`` of the backend, and ``collect`` (which fetches what that could not) records
each file's sha256, honouring ``download_patterns``. Exit code 0 → COMPLETED; anything else → FAILED with the
exit code and the tail of stderr in the reason.

An instance whose backend block says ``dry_run: true`` (0.2.x: print the command instead of
running it) prepares as usual, then ``submit`` writes the command it would run to
``dry_run.json`` in the attempt directory and completes the attempt at once; the backend is
never asked to run anything. Every backend type gets this from here.
"""

from __future__ import annotations

import json

from matterstack.atomic_write import write_atomic
from matterstack.core.attempt_results import OUTPUT_FILES, OUTPUT_SHA256
from matterstack.core.status import AttemptStatus
from matterstack.errors import PermanentOperatorError, TransientOperatorError
from matterstack.plugins.backend_interfaces import FetchRequest, JobSpec
from matterstack.plugins.interfaces import AttemptContext, Observation, SubmitResult
from matterstack.operators.command import CommandOperator
from matterstack.operators.staging import sha256_file
from matterstack.orchestrator.back_pressure import BACK_PRESSURE

DRY_RUN_FILE = "dry_run.json"
"""What a dry-run attempt would have run, in its attempt directory."""
REASON_COMMAND_CHARS = 200


class ComputeOperator(CommandOperator):
    """Runs compute attempts through one backend (``self.backend``); staging, collection and
    failure reasons are :class:`CommandOperator`'s. The backend decides how and where a job
    runs, so ``command``, ``work_dir`` and ``environment`` are never asked."""

    backend = None
    dry_run = False
    """From the backend block's ``dry_run``: record each attempt's command, run nothing."""

    def __init__(self, key, settings, context):
        super().__init__(key, settings, context)
        self._fetched: set[str] = set()
        """Attempts whose outputs ``fetch_results`` brought in and ``collect`` has not yet taken."""

    def job_spec(self, attempt: AttemptContext) -> JobSpec:
        task = attempt.task
        return JobSpec(
            token=attempt.attempt_id,
            command=task.command,
            input_dir=attempt.attempt_dir,
            relative_dir=f"{self.context.workspace_slug}/{attempt.run_id}/{task.task_id}/{attempt.attempt_id}",
            env=dict(task.env),
            cores=task.cores,
            memory_gb=task.memory_gb,
            gpus=task.gpus,
            time_limit_minutes=task.time_limit_minutes,
        )

    def submit(self, attempt: AttemptContext) -> SubmitResult:
        if self.dry_run:
            return self._record_dry_run(attempt)
        job_id = self.backend.submit(self.job_spec(attempt))
        return SubmitResult(external_id=job_id, status=AttemptStatus.SUBMITTED,
                            reason=f"job {job_id} submitted to {self.key}")

    def submit_many(self, attempts: list[AttemptContext], answer) -> None:
        """All of them through the backend's :meth:`~ComputeBackend.submit_batch`, each
        answered as soon as the backend knows its job id (a dry run records one at a time)."""
        if self.dry_run:
            return super().submit_many(attempts, answer)
        specs = []
        for attempt in attempts:
            try:
                specs.append(self.job_spec(attempt))
            except Exception as exc:  # one attempt's task that cannot become a job is its own
                answer(attempt.attempt_id, exc)

        def answer_job(token: str, outcome) -> None:
            if isinstance(outcome, str):
                outcome = SubmitResult(external_id=outcome, status=AttemptStatus.SUBMITTED,
                                       reason=f"job {outcome} submitted to {self.key}")
            answer(token, outcome)

        if specs:
            self.backend.submit_batch(specs, answer_job)

    def _record_dry_run(self, attempt: AttemptContext) -> SubmitResult:
        spec = self.job_spec(attempt)
        record = {"dry_run": True, "operator_key": self.key, "command": spec.command,
                  "work_dir": str(attempt.attempt_dir), "env": spec.env, "cores": spec.cores,
                  "memory_gb": spec.memory_gb, "gpus": spec.gpus, "time_limit_minutes": spec.time_limit_minutes}
        path = attempt.attempt_dir / DRY_RUN_FILE
        write_atomic(path, json.dumps(record, indent=2) + "\n")
        shown = " ".join(spec.command.split())
        if len(shown) > REASON_COMMAND_CHARS:
            shown = shown[:REASON_COMMAND_CHARS] + "..."
        return SubmitResult(
            external_id=None, status=AttemptStatus.COMPLETED,
            reason=f"dry run: would have run `{shown}` on {self.key}; nothing was executed (see {DRY_RUN_FILE})",
            operator_data={"dry_run": True, "dry_run_command": spec.command,
                           OUTPUT_FILES: {DRY_RUN_FILE: DRY_RUN_FILE}, OUTPUT_SHA256: {DRY_RUN_FILE: sha256_file(path)}},
        )

    def poll(self, attempts: list[AttemptContext]) -> dict[str, Observation]:
        by_job = {a.external_id: a for a in attempts if a.external_id}
        seen = self.backend.poll_many(list(by_job))
        self._fetch_stderr({job_id: by_job[job_id] for job_id, job in seen.items()
                            if job.status == AttemptStatus.FAILED and job.exit_code is not None})
        out = {}
        for job_id, job in seen.items():
            attempt = by_job[job_id]
            if job.never_started:
                out[attempt.attempt_id] = self._submit_again(attempt, job)
                continue
            reason = job.reason
            if job.status == AttemptStatus.FAILED and job.exit_code is not None:
                reason = self.failure_reason(attempt, job.exit_code)
                if job.native_state and job.native_state not in ("FAILED", "exited"):
                    reason = f"{job.native_state}, {reason}"
            out[attempt.attempt_id] = Observation(status=job.status, external_id=job_id, reason=reason,
                                                  exit_code=job.exit_code)
        return out

    def _submit_again(self, attempt: AttemptContext, job) -> Observation:
        """A job the backend says never started is submitted again with its token (once: a
        backend says so only once per job)."""
        try:
            job_id = self.backend.submit(self.job_spec(attempt))
        except (OSError, TransientOperatorError) as exc:
            words = exc.strerror if isinstance(exc, OSError) else exc.one_line()
            return Observation(AttemptStatus.SUBMITTED, external_id=attempt.external_id,
                               reason=f"{job.reason}; submitting it again failed ({words})")
        return Observation(AttemptStatus.SUBMITTED, external_id=job_id,
                           reason=f"{job.reason}; submitted again as job {job_id}")

    def reconcile(self, attempts: list[AttemptContext]) -> dict[str, Observation | None]:
        if self.dry_run:  # nothing was ever handed to the backend: record the dry run again
            return {a.attempt_id: None for a in attempts}
        found = self.backend.find_by_token([a.attempt_id for a in attempts])
        return {
            a.attempt_id: (Observation(AttemptStatus.SUBMITTED, external_id=found[a.attempt_id],
                                       reason="found by its token after an interrupted submission")
                           if a.attempt_id in found else None)
            for a in attempts
        }

    def fetch_results(self, attempts: list[AttemptContext]) -> None:
        """The outputs of every attempt that has a job, through one ``fetch_many`` of the
        backend; ``collect`` then fetches only those it could not bring in."""
        requests = {a.external_id: (a, self._fetch_request(a)) for a in attempts if a.external_id}
        if not requests:
            return
        failures = self.backend.fetch_many([request for _, request in requests.values()])
        self._fetched.update(a.attempt_id for job_id, (a, _) in requests.items() if job_id not in failures)
        outage = next((e for e in failures.values() if isinstance(e, TransientOperatorError)), None)
        if outage is not None:
            raise outage

    @staticmethod
    def _fetch_request(attempt: AttemptContext) -> FetchRequest:
        patterns = attempt.task.download_patterns or {}
        return FetchRequest(attempt.external_id, attempt.attempt_dir, patterns.get("include"), patterns.get("exclude"))

    def fetch_outputs(self, attempt: AttemptContext) -> None:
        """Through the backend, unless ``fetch_results`` already brought them in."""
        if attempt.attempt_id in self._fetched:
            self._fetched.discard(attempt.attempt_id)
        elif attempt.external_id:
            request = self._fetch_request(attempt)
            self.backend.fetch(request.job_id, request.dest, request.include, request.exclude)

    def cancel(self, attempt: AttemptContext) -> None:
        for error in self.cancel_many([attempt]).values():
            raise error

    def cancel_many(self, attempts: list[AttemptContext]) -> dict[str, Exception]:
        """One ``cancel_many`` of the backend for every job: those of attempts without a job
        id yet are first asked for by token. An error stops none of them: all are refused."""
        unknown = [a.attempt_id for a in attempts if not a.external_id]
        try:
            found = self.backend.find_by_token(unknown) if unknown else {}
            job_ids = [a.external_id or found.get(a.attempt_id) for a in attempts]
            self.backend.cancel_many([j for j in job_ids if j])
        except (TransientOperatorError, PermanentOperatorError) as exc:
            return {a.attempt_id: exc for a in attempts}
        return {}

    def check_settings(self) -> list[tuple[str, str, str]]:
        return [(f"backend.{where}", problem, fix) for where, problem, fix in self.backend.check_settings()]

    def doctor(self) -> list[tuple[str, bool, str]]:
        return self.backend.doctor()

    def describe_wait(self, attempt: AttemptContext) -> str:
        refusal = attempt.operator_data.get(BACK_PRESSURE)
        if not attempt.external_id and refusal:
            queue = self.backend.describe_queue()
            return (f"a place in the queue of {self.key}: {refusal}" + (f"; {queue}" if queue else "")
                    + "; the next tick submits it again")
        if not attempt.external_id:
            return f"submission to {self.key} (not yet confirmed)"
        job = self.backend.poll_many([attempt.external_id]).get(attempt.external_id)
        state = job.native_state or job.status.value if job else "unknown"
        detail = f" ({job.reason})" if job and job.reason else ""
        return f"job {attempt.external_id} {state}{detail} on {self.key}"

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()

    def _fetch_stderr(self, failed: dict[str, AttemptContext]) -> None:
        """The ``stderr.log`` of failed jobs that ran elsewhere, for their reasons: one
        ``fetch_many`` for all of them (a reason goes without its tail if that fails;
        collect fetches everything later)."""
        missing = [FetchRequest(job_id, a.attempt_dir, ["stderr.log"]) for job_id, a in failed.items()
                   if not (a.attempt_dir / "stderr.log").is_file()]
        if missing:
            try:
                self.backend.fetch_many(missing)
            except (TransientOperatorError, PermanentOperatorError):
                pass  # the default fetch_many answers errors; a backend of its own may raise them
