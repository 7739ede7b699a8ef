"""The interface a compute backend implements (a local process, a Slurm cluster), and the
values it exchanges with the compute kinds that use it (``local``, ``hpc``).

Like an operator, a backend raises :class:`~matterstack.errors.TransientOperatorError` for
trouble that passes, :class:`~matterstack.errors.BackPressureError` when the scheduler takes
no more jobs from this user for now, and :class:`~matterstack.errors.PermanentOperatorError`
for a refusal for good.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from matterstack.core.status import AttemptStatus
from matterstack.errors import BackPressureError, PermanentOperatorError, TransientOperatorError

__all__ = ["BackendCapabilities", "ComputeBackend", "FetchRequest", "JobObservation", "JobSpec"]


@attrs.frozen
class JobSpec:
    """A compute job: run ``command`` in a work directory holding the staged inputs.

    ``token`` (the attempt id) is attached to the job (Slurm ``--job-name``) so it can be found
    again. ``relative_dir`` is where the work directory sits under the backend's workspace
    root (``<workspace>/<run_id>/<task_id>/<attempt_id>``); ``input_dir`` is the local attempt
    directory whose files are staged there. Resource fields of ``None`` take backend defaults.
    """

    token: str
    command: str
    input_dir: Path
    relative_dir: str
    env: dict[str, str] = attrs.field(factory=dict)
    cores: int | None = None
    memory_gb: float | None = None
    gpus: int | None = None
    time_limit_minutes: int | None = None


@attrs.frozen
class FetchRequest:
    """The outputs of one finished job to bring into ``dest``: the files matching an
    ``include`` glob (default: all) and no ``exclude`` glob, as :meth:`ComputeBackend.fetch`
    takes them."""

    job_id: str
    dest: Path
    include: list[str] | None = None
    exclude: list[str] | None = None


@attrs.frozen
class JobObservation:
    """What a backend knows about one job: the attempt status it means, the backend's own
    state word (``TIMEOUT``, ``OUT_OF_MEMORY``) and the exit code when known.

    ``never_started``: the backend is sure the job never ran and nothing of it is alive, and
    has cleared what would keep a new launch from running; the compute operator then submits
    the same job (same token) again, which runs it once.
    """

    status: AttemptStatus
    native_state: str = ""
    reason: str = ""
    exit_code: int | None = None
    never_started: bool = False


@attrs.frozen
class BackendCapabilities:
    """What a backend can do: does the job see our files directly, does it keep accounting
    records of finished jobs, does it need SSH."""

    shared_filesystem: bool
    accounting: bool
    needs_ssh: bool


class ComputeBackend(abc.ABC):
    """Where compute attempts run (a local process, a Slurm cluster).

    Built by its factory as ``factory(settings, context)`` with an :class:`OperatorContext`.
    """

    @property
    @abc.abstractmethod
    def capabilities(self) -> BackendCapabilities:
        """What this backend can do."""

    @abc.abstractmethod
    def submit(self, job: JobSpec) -> str:
        """Stage the inputs and start the job; return its job id. Idempotent per token."""

    def submit_batch(self, jobs: list[JobSpec], answer: Callable[[str, Any], None]) -> None:
        """Submit many jobs, calling ``answer(token, outcome)`` as soon as each is known: the
        job id, or the operator error that job's submission raised. After a
        :class:`BackPressureError` the jobs left get that same refusal, unsubmitted. The
        default calls :meth:`submit` for one job at a time; a backend that can stage and
        submit many in a constant number of round trips overrides it."""
        for index, job in enumerate(jobs):
            try:
                outcome = self.submit(job)
            except (TransientOperatorError, PermanentOperatorError) as exc:
                outcome = exc
            answer(job.token, outcome)
            if isinstance(outcome, BackPressureError):
                for waiting in jobs[index + 1:]:
                    answer(waiting.token, outcome)
                return

    @abc.abstractmethod
    def poll_many(self, job_ids: list[str]) -> dict[str, JobObservation]:
        """Observe many jobs with as few scheduler queries as possible (one per round)."""

    @abc.abstractmethod
    def fetch(self, job_id: str, dest: Path, include: list[str] | None = None, exclude: list[str] | None = None) -> None:
        """Copy the job's outputs into ``dest``, keeping files matching ``include`` globs and not ``exclude``."""

    def fetch_many(self, requests: list[FetchRequest]) -> dict[str, Exception]:
        """Bring in the outputs of several finished jobs; return the error of each job whose
        outputs could not be brought in, by job id (the others are in their ``dest``). The
        default calls :meth:`fetch` for one job at a time, and after a
        :class:`TransientOperatorError` gives the jobs left that same error, unfetched; a
        backend that can bring many down in one round trip overrides it."""
        failures: dict[str, Exception] = {}
        for index, request in enumerate(requests):
            try:
                self.fetch(request.job_id, request.dest, request.include, request.exclude)
            except PermanentOperatorError as exc:
                failures[request.job_id] = exc
            except TransientOperatorError as exc:
                failures.update((left.job_id, exc) for left in requests[index:])
                break
        return failures

    @abc.abstractmethod
    def cancel(self, job_id: str) -> None:
        """Stop the job."""

    def cancel_many(self, job_ids: list[str]) -> None:
        """Stop several jobs; raise an operator error if they could not all be asked to stop.
        The default calls :meth:`cancel` for each; a backend that can stop many with one
        command overrides it."""
        for job_id in job_ids:
            self.cancel(job_id)

    @abc.abstractmethod
    def find_by_token(self, tokens: list[str]) -> dict[str, str]:
        """Job ids of the jobs carrying these tokens, for the tokens that have one."""

    def check_settings(self) -> list[tuple[str, str, str]]:
        """As :meth:`Operator.check_settings`, with key paths inside the ``backend`` block
        (``slurm.partition``); the compute kinds prefix them. The default checks nothing."""
        return []

    def doctor(self) -> list[tuple[str, bool, str]]:
        """As :meth:`Operator.doctor`: the checks of this backend (SSH, the scheduler, the
        workspace root); the compute kinds' ``doctor`` answers them. The default checks nothing."""
        return []

    def describe_queue(self) -> str:
        """This user's jobs in the scheduler now, in a few words for ``explain`` while an
        attempt waits behind a :class:`BackPressureError` (``"root has 50 jobs queued (48
        pending, 2 running)"``); the default says nothing."""
        return ""

    def close(self) -> None:
        """Release what the backend holds open (an SSH connection); the default holds nothing."""
