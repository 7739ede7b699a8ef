"""sbatch's "not now": refusals that mean the site takes no more jobs from this user for the
moment, told apart from refusals of the job itself. Pure functions, no I/O.

With association or QOS limits enforced (``AccountingStorageEnforce=limits``), Slurm 22.05
refuses a job over a submit cap with two lines, the first naming the limit::

    sbatch: error: AssocMaxSubmitJobLimit
    sbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)

The named limits of that kind are ``AssocMaxSubmitJobLimit`` and ``AssocGrpSubmitJobsLimit``
(the user's or account's association), ``QOSMaxSubmitJobPerUserLimit``,
``QOSMaxSubmitJobPerAccountLimit`` and ``QOSGrpSubmitJobsLimit`` (the QOS). The second line
alone is also what older Slurm prints for them; the same line after another limit's name
(``AssocMaxWallDurationPerJobLimit``) refuses the job itself. A controller at ``MaxJobCount``
answers ``Slurm temporarily unable to accept job``.
"""

from __future__ import annotations

import re

import attrs

SUBMIT_LIMIT = re.compile(r"\b(?:QOS|Assoc)\w*Submit\w*Limit\b")
NAMED_LIMIT = re.compile(r"sbatch: error: ((?:QOS|Assoc)\w*Limit)\b")
POLICY = "job violates accounting/qos policy"
CONTROLLER_FULL = "temporarily unable to accept job"


def submit_refusal(stderr: str) -> str | None:
    """Why sbatch refused for now, in words for a person; None when its error (``stderr``)
    means anything else (a bad partition, a job over a size or time limit)."""
    named = SUBMIT_LIMIT.search(stderr)
    if named:
        return f"sbatch: {named.group()}, a cap on the jobs that may be queued at once"
    if POLICY in stderr.lower() and not NAMED_LIMIT.search(stderr):
        return "sbatch: job submit limit (accounting/QOS policy), a cap on the jobs that may be queued at once"
    if CONTROLLER_FULL in stderr.lower():
        return "slurmctld accepts no new jobs for the moment (its MaxJobCount, or too busy)"
    return None


QUEUE_COMMAND = "squeue --me -h -o '%u|%T'"
"""This user's jobs still in the queue (squeue's default states: pending, running, ...)."""


@attrs.frozen
class UserQueue:
    """What ``QUEUE_COMMAND`` printed: whose jobs and how many in each state."""

    user: str
    states: dict[str, int]

    def describe(self) -> str:
        """``root has 50 jobs queued (48 pending, 2 running)``."""
        total = sum(self.states.values())
        if not total:
            return "no jobs of yours are queued now"
        detail = ", ".join(f"{count} {state.lower()}" for state, count in
                           sorted(self.states.items(), key=lambda item: (-item[1], item[0])))
        return f"{self.user} has {total} job{'s' if total != 1 else ''} queued ({detail})"


def parse_queue(text: str) -> UserQueue:
    """Read ``QUEUE_COMMAND``'s output."""
    user, states = "", {}
    for line in text.splitlines():
        name, sep, state = line.strip().partition("|")
        if not sep:
            continue
        user = user or name
        states[state] = states.get(state, 0) + 1
    return UserQueue(user, states)
