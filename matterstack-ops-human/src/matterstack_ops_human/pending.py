"""Requests that wait for a person, found in the runs of a project (for ``matterstack human``):
questions on ``human`` instances, answered with ``human respond``, and job bundles on
``manual_hpc`` instances, answered by bringing the job's results back.

Read-only, through ``matterstack.plugins``' project view: run databases are opened without
the run lock and without writing, so this works while ``loop`` runs.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from matterstack.errors import MatterStackError
from matterstack.plugins import AttemptStatus, AttemptView, ProjectView, RunView, utc_now

from matterstack_ops_human.handoff import CANCEL_FILE, INSTRUCTIONS_ENV, INSTRUCTIONS_FILE
from matterstack_ops_human.manual_hpc import JOB_FILE, OUTPUT_DIR, STATUS_FILE

HUMAN_KIND = "human"
MANUAL_HPC_KIND = "manual_hpc"


class NotWaitingError(MatterStackError):
    """An answer to a task that does not wait for a person's answer."""


def kind_of(key: str | None) -> str | None:
    """An operator key's kind: its prefix."""
    return key.split(".", 1)[0] if key is not None else None


def waits_for_a_person(key: str | None) -> bool:
    """Whether an operator key's attempts wait for a person: kinds ``human`` and ``manual_hpc``."""
    return kind_of(key) in (HUMAN_KIND, MANUAL_HPC_KIND)


def age(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago ``moment`` was, for people: ``45 s``, ``12 min``, ``3 h``, ``2 d``."""
    if moment is None:
        return "?"
    seconds = max(0, int(((now or utc_now()) - moment).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= 2 * size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


@attrs.frozen
class Request:
    """One task's current attempt on a ``human`` or ``manual_hpc`` instance, with where it lives."""

    attempt: AttemptView

    @property
    def run_id(self) -> str:
        return self.attempt.run_id

    @property
    def task(self) -> Any:
        return self.attempt.task

    @property
    def operator_key(self) -> str | None:
        return self.attempt.operator_key

    @property
    def attempt_dir(self) -> Path:
        return self.attempt.attempt_dir

    @property
    def since(self) -> datetime | None:
        """When the request was sent (legacy attempts made WAITING directly: when created)."""
        return self.attempt.submitted_at or self.attempt.created_at

    @property
    def kind(self) -> str | None:
        """``human`` (a question) or ``manual_hpc`` (a job bundle to run by hand)."""
        return self.attempt.kind

    @property
    def summary(self) -> str:
        """The first line of the instructions; for a job bundle, what to run and bring back."""
        text = (self.task.env.get(INSTRUCTIONS_ENV) or "").strip()
        if self.kind == MANUAL_HPC_KIND:
            asked = f"{text.splitlines()[0]}: " if text else ""
            return (f"{asked}job bundle: run {JOB_FILE} on the cluster (`{self.task.command}`), "
                    f"bring back {OUTPUT_DIR}/ then {STATUS_FILE}")
        return text.splitlines()[0] if text else self._written_instructions() or "(no instructions)"

    def _written_instructions(self) -> str | None:
        """The first line of prose in the attempt's ``instructions.md``: MatterStack 0.2.x
        wrote the task's own ``files["instructions.md"]`` there under a "# Human Task" title."""
        try:
            text = (self.attempt_dir / INSTRUCTIONS_FILE).read_text(errors="replace")
        except OSError:
            return None
        return next((line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")), None)

    def refusal(self) -> str | None:
        """Why this request cannot be answered now, or None when it waits for an answer."""
        attempt = self.attempt
        if (self.attempt_dir / CANCEL_FILE).exists():
            return f"the request was cancelled ({CANCEL_FILE} in {self.attempt_dir})"
        if attempt.status != AttemptStatus.WAITING_EXTERNAL:
            why = f" ({attempt.status_reason})" if attempt.status_reason else ""
            return (f"task {self.task.task_id} is {attempt.task_status}; its attempt #{attempt.attempt_index} "
                    f"is {attempt.status.value}{why}, not waiting for an answer")
        return None

    def as_dict(self, now: datetime | None = None) -> dict:
        """The request as ``human list --json`` prints it."""
        now = now or utc_now()
        return {
            "run_id": self.run_id,
            "workspace": self.attempt.workspace,
            "task_id": self.task.task_id,
            "attempt_id": self.attempt.attempt_id,
            "operator_key": self.operator_key,
            "kind": self.kind,
            "status": self.attempt.status.value,
            "waiting_since": self.since.isoformat() if self.since else None,
            "waited_seconds": int((now - self.since).total_seconds()) if self.since else None,
            "instructions": self.summary,
            "attempt_dir": str(self.attempt_dir),
        }


def pending_requests(project: ProjectView) -> tuple[list[Request], list[str]]:
    """Every request waiting for a person in every run of the project, oldest first, and a
    line for each run that could not be read."""
    found, problems = [], []
    for run_dir in project.run_dirs():
        try:
            with RunView.open(run_dir) as run:
                found += [Request(attempt) for attempt in run.waiting_attempts((HUMAN_KIND, MANUAL_HPC_KIND))]
        except MatterStackError as exc:
            problems.append(f"{run_dir}: {exc.one_line()}")
    found = [request for request in found if request.refusal() is None]
    return sorted(found, key=lambda r: (r.since is None, r.since or utc_now(), r.run_id, r.task.task_id)), problems


def current_request(run_dir: Path, task_id: str) -> Request:
    """The task's latest attempt as a request; :class:`NotWaitingError` when the task has no
    attempt yet or its attempt is not on a ``human`` or ``manual_hpc`` instance."""
    with RunView.open(run_dir) as run:
        attempts = run.task_attempts(task_id)
        if not attempts:
            raise NotWaitingError(f"task {task_id} is {run.task_status(task_id)} and has not asked anyone yet",
                                  where=f"run {run.run_id}",
                                  fix=f"run `matterstack step {run.run_id}` once its dependencies are done")
        request = Request(attempts[-1])
    if not waits_for_a_person(request.operator_key):
        raise NotWaitingError(f"task {task_id} is handled by {request.operator_key or 'no operator'}, not by a person",
                              where=f"run {request.run_id}",
                              fix=f"`matterstack explain {request.run_id}` says what it waits for")
    return request
