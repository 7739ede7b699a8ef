"""The Slurm translator: job specs into ``submit.sh`` and command lines, command output into
job states. Pure functions, no I/O: a transport runs what this module writes.

Every value that reaches a shell is quoted with :func:`shlex.quote`. ``#SBATCH`` lines are
read by sbatch, not by a shell, and sbatch does not understand shell quoting; so directive
values must be plain Slurm words (letters, digits, ``_ . : , + = @ / % -``) and anything else
is refused before submission, which also keeps their quoted and unquoted forms identical.
"""

from __future__ import annotations

import math
import re
import shlex

import attrs

from matterstack.errors import PermanentOperatorError
from matterstack.plugins import AttemptStatus, JobObservation, JobSpec
from matterstack_ops_slurm.register import SlurmDefaults
from matterstack_ops_slurm.sbatch_options import is_directive_word

CONTROL_DIR = ".matterstack"
SCRIPT = f"{CONTROL_DIR}/submit.sh"
EXIT_CODE_FILE = f"{CONTROL_DIR}/exit_code"
JOB_ID_FILE = f"{CONTROL_DIR}/job_id"
# How far back sacct looks for jobs that squeue has forgotten.
SACCT_WINDOW = "now-30days"

FILE_OPTIONS = ("output", "error", "input")
"""sbatch options whose value is a filename pattern (``%j``, ``%s``, ``%%`` ...)."""

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

QUEUED = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "CONFIGURING"}
RUNNING = {"RUNNING", "COMPLETING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "RESIZING", "STOPPED"}
FAILED = {"FAILED", "TIMEOUT", "NODE_FAIL", "BOOT_FAIL", "OUT_OF_MEMORY", "DEADLINE", "PREEMPTED",
          "SPECIAL_EXIT", "REVOKED"}
SHORT_FORMS = {
    "PD": "PENDING", "RQ": "REQUEUED", "RH": "REQUEUE_HOLD", "RF": "REQUEUE_FED", "RD": "RESV_DEL_HOLD",
    "CF": "CONFIGURING", "R": "RUNNING", "CG": "COMPLETING", "S": "SUSPENDED", "SO": "STAGE_OUT",
    "SI": "SIGNALING", "RS": "RESIZING", "ST": "STOPPED", "CD": "COMPLETED", "F": "FAILED",
    "TO": "TIMEOUT", "NF": "NODE_FAIL", "BF": "BOOT_FAIL", "OOM": "OUT_OF_MEMORY", "DL": "DEADLINE",
    "PR": "PREEMPTED", "SE": "SPECIAL_EXIT", "RV": "REVOKED", "CA": "CANCELLED",
}

TRANSIENT_MARKERS = (
    "socket timed out", "unable to contact slurm controller", "connection refused", "connection reset",
    "connection timed out", "timed out", "zero bytes were transmitted", "communication connection failure",
    "munge", "transport endpoint", "temporarily unavailable", "try again", "slurm_persist_conn",
    "slurmdbd", "resource temporarily", "broken pipe", "network is unreachable",
)


@attrs.frozen
class JobState:
    """One job as a Slurm command reports it."""

    job_id: str
    state: str
    reason: str = ""
    partition: str = ""
    exit_code: str = ""
    name: str = ""


@attrs.frozen
class SiteInfo:
    """What ``scontrol show config`` says about the cluster: which accounting it keeps
    (``slurmdbd``, ``jobcomp`` for completion records read by ``sacct -c``, or ``none``)
    how long finished jobs stay visible to squeue, and how many elements a job array may have
    (``MaxArraySize``: indexes run from 0 to one less)."""

    accounting: str
    min_job_age: int | None
    cluster: str = ""
    max_array_size: int = 1001


def is_transient(text: str) -> bool:
    """Whether a Slurm command's error text means "try again later"."""
    lowered = text.lower()
    return any(marker in lowered for marker in TRANSIENT_MARKERS)


def directive_value(name: str, value: object) -> str:
    text = str(value)
    if not is_directive_word(text):
        raise PermanentOperatorError(f"Slurm {name} {text!r} has characters sbatch cannot take in a directive",
                                     fix=f"use letters, digits and _ . : , + = @ / % - in {name}")
    return shlex.quote(text)


def memory(gb: float) -> str:
    """``--mem`` for ``gb`` gigabytes: whole gigabytes as ``NG``, anything else in megabytes."""
    return f"{int(gb)}G" if float(gb).is_integer() else f"{math.ceil(gb * 1024)}M"


def directives(job: JobSpec, defaults: SlurmDefaults) -> list[tuple[str, object]]:
    """The sbatch options of ``job``: task resources win over the backend defaults, then the
    block's other sbatch options (``True``: a bare flag)."""
    cores = job.cores if job.cores is not None else defaults.cpus_per_task
    time = str(job.time_limit_minutes) if job.time_limit_minutes is not None else defaults.time
    memory_gb = job.memory_gb if job.memory_gb is not None else defaults.memory_gb
    mem = defaults.mem if memory_gb is None else (memory(memory_gb) if memory_gb else None)
    gpus = job.gpus if job.gpus is not None else defaults.gpus
    gres = f"gpu:{gpus}" if gpus else (defaults.gres if job.gpus is None else None)
    wanted = [
        ("job-name", job.token), ("partition", defaults.partition), ("account", defaults.account),
        ("qos", defaults.qos), ("time", time), ("nodes", defaults.nodes), ("ntasks", defaults.ntasks),
        ("cpus-per-task", cores), ("mem", mem), ("gres", gres),
        ("output", f"{CONTROL_DIR}/slurm-%j.out"),
    ]
    wanted += sorted((name, value) for name, value in defaults.options.items() if value is not False)
    return [(name, value) for name, value in wanted if value is not None]


def submit_script(job: JobSpec, defaults: SlurmDefaults) -> str:
    """``submit.sh``: directives, modules lines, exported env, then a wrapper that runs the
    command with its output in ``stdout.log``/``stderr.log`` and records its exit code."""
    lines = ["#!/bin/bash"]
    for name, value in directives(job, defaults):
        lines.append(f"#SBATCH --{name}" if value is True else f"#SBATCH --{name}={directive_value(name, value)}")
    lines.append(f"# MatterStack attempt {job.token}")
    lines += [line for line in defaults.modules]
    for name, value in sorted(job.env.items()):
        if not _ENV_NAME.match(name):
            raise PermanentOperatorError(f"environment variable name {name!r} is not a valid shell name",
                                         fix="use letters, digits and '_', not starting with a digit")
        lines.append(f"export {name}={shlex.quote(str(value))}")
    lines += [
        f"/bin/bash -c {shlex.quote(job.command)} > stdout.log 2> stderr.log < /dev/null",
        "code=$?",
        f"echo \"$code\" > {EXIT_CODE_FILE}.tmp && mv -f {EXIT_CODE_FILE}.tmp {EXIT_CODE_FILE}",
        "exit \"$code\"",
    ]
    return "\n".join(lines) + "\n"


def lookup_command(workdir: str, token: str, accounting: str) -> str:
    """Has ``token`` been submitted already? Prints the job id if so: from the work
    directory's record, else squeue, else the accounting the site keeps. Exits 75 when a
    Slurm command fails, so an unanswered question is never taken for "no"."""
    q = shlex.quote
    record = f"{q(workdir)}/{JOB_ID_FILE}"
    lines = [f"if [ -s {record} ]; then head -n 1 {record}; exit 0; fi",
             f"id=$(squeue -h -t all --name={q(token)} -o %i) || exit 75",
             'if [ -n "$id" ]; then echo "$id" | head -n 1; exit 0; fi']
    sacct = sacct_base(accounting)
    if sacct:
        # sacct -c ignores --name (Slurm 22.05): the job name is matched here as well.
        lines += [f"rows=$({sacct} -X -n -P -S {SACCT_WINDOW} --name={q(token)} -o JobID,JobName) || exit 75",
                  f"printf '%s\\n' \"$rows\" | awk -F'|' -v t={q(token)} '$2 == t {{print $1; exit}}'"]
    return "; ".join(lines)


def relative_file_options(job: JobSpec, defaults: SlurmDefaults) -> list[tuple[str, str]]:
    """The directives of ``job`` naming a file relative to its work directory (``--output``,
    ``--error``, ``--input``): Slurm prefixes such a name with the work directory and then
    expands ``%`` patterns in the whole path, so a task id holding ``%`` (the work directory
    holds the task id) would send the output to a folder that does not exist and kill the job."""
    return [(name, str(value)) for name, value in directives(job, defaults)
            if name in FILE_OPTIONS and value is not True and not str(value).startswith("/")]


def sbatch_command(workdir: str, file_options: list[tuple[str, str]] = ()) -> str:
    """Submit the work directory's ``submit.sh`` from there and record the job id beside it.
    ``file_options`` (see :func:`relative_file_options`) are given again on the command line,
    anchored at the work directory with its ``%`` doubled (``%%`` is sbatch's literal ``%``);
    the command line wins over the script's directives, which stay as written."""
    d = shlex.quote(workdir)
    anchored = "".join(f' --{name}="$here"/{shlex.quote(value)}' for name, value in file_options)
    here = "here=$(pwd | sed 's/%/%%/g') && " if file_options else ""
    return (f"cd {d} && {here}id=$(sbatch --parsable{anchored} {SCRIPT}) && id=${{id%%;*}} && "
            f"echo \"$id\" > {JOB_ID_FILE}.tmp && mv -f {JOB_ID_FILE}.tmp {JOB_ID_FILE} && echo \"$id\"")


def squeue_command(job_ids: list[str]) -> str:
    """One squeue for many jobs: id, state, reason, partition (``-r``: one line per array
    element, pending ones included, so each element is seen under its own ``<job>_<k>``)."""
    return f"squeue -h -t all -r -j {','.join(job_ids)} -o '%i|%T|%r|%P'"


def squeue_by_name_command(tokens: list[str]) -> str:
    return f"squeue -h -t all --name={shlex.quote(','.join(tokens))} -o '%i|%T|%r|%P|%j'"


def sacct_base(accounting: str) -> str | None:
    """``sacct`` for slurmdbd, ``sacct -c`` for completion records, None without either."""
    return {"slurmdbd": "sacct", "jobcomp": "sacct -c"}.get(accounting)


def sacct_command(job_ids: list[str], accounting: str) -> str | None:
    """One accounting query for many jobs, or None where the site keeps none."""
    base = sacct_base(accounting)
    if base is None:
        return None
    return f"{base} -X -n -P -S {SACCT_WINDOW} -j {','.join(job_ids)} -o JobID,State,ExitCode,Partition"


def sacct_by_name_command(tokens: list[str], accounting: str) -> str | None:
    base = sacct_base(accounting)
    if base is None:
        return None
    return f"{base} -X -n -P -S {SACCT_WINDOW} --name={shlex.quote(','.join(tokens))} -o JobID,State,ExitCode,Partition,JobName"


def read_files_command(workdirs: dict[str, str], name: str) -> str:
    """Print ``<key>|<first line of name>`` for each work directory, in one command line."""
    return "; ".join(f"printf '%s|%s\\n' {shlex.quote(key)} \"$(head -n 1 {shlex.quote(d)}/{name} 2>/dev/null)\""
                     for key, d in workdirs.items())


def parse_rows(text: str, fields: tuple[str, ...]) -> list[JobState]:
    """``|``-separated rows into :class:`JobState` (fields by name); array/step ids are kept
    whole, later rows for one id (a requeued job's newer run) replace earlier ones."""
    rows: dict[str, JobState] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        values = dict(zip(fields, (v.strip() for v in line.split("|"))))
        job_id = values.get("job_id", "")
        if not job_id or "." in job_id:
            continue
        rows[job_id] = JobState(job_id=job_id, state=values.get("state", ""), reason=values.get("reason", ""),
                                partition=values.get("partition", ""), exit_code=values.get("exit_code", ""),
                                name=values.get("name", ""))
    return list(rows.values())


SQUEUE_FIELDS = ("job_id", "state", "reason", "partition", "name")
SACCT_FIELDS = ("job_id", "state", "exit_code", "partition", "name")


def canonical_state(word: str) -> str:
    """``CANCELLED by 0`` → ``CANCELLED``, ``CA`` → ``CANCELLED``, ``TIMEOUT`` stays."""
    head = word.strip().split(" ")[0].rstrip("+").upper()
    return SHORT_FORMS.get(head, head)


def _exit_code(text: str) -> int | None:
    """Slurm's ``code:signal`` as one number (128 + signal when a signal ended the job)."""
    code, _, signal = text.partition(":")
    try:
        code_n, signal_n = int(code), int(signal or 0)
    except ValueError:
        return None
    return 128 + signal_n if signal_n and not code_n else code_n


def observe(job: JobState) -> JobObservation:
    """The attempt status a Slurm state means, keeping the Slurm word and exit code."""
    state = canonical_state(job.state)
    detail = "; ".join(part for part in (
        job.reason if job.reason and job.reason != "None" else "",
        f"partition {job.partition}" if job.partition else "") if part)
    if state in QUEUED:
        return JobObservation(AttemptStatus.SUBMITTED, state, detail)
    if state in RUNNING:
        return JobObservation(AttemptStatus.RUNNING, state, detail)
    if state == "COMPLETED":
        return JobObservation(AttemptStatus.COMPLETED, state, "", 0)
    if state == "CANCELLED":
        return JobObservation(AttemptStatus.CANCELLED, state, job.state.strip())
    if state in FAILED:
        code = _exit_code(job.exit_code) if state == "FAILED" else None
        return JobObservation(AttemptStatus.FAILED, state, state + (f" ({job.reason})" if job.reason and job.reason != "None" else ""), code)
    return JobObservation(AttemptStatus.SUBMITTED, state, f"unknown Slurm state {job.state!r}")


def from_exit_code(text: str) -> JobObservation | None:
    """The observation an exit-code file gives, or None when it holds no number."""
    try:
        code = int(text.strip())
    except ValueError:
        return None
    if code == 0:
        return JobObservation(AttemptStatus.COMPLETED, "COMPLETED", "exit-code file", 0)
    return JobObservation(AttemptStatus.FAILED, "FAILED", f"exit code {code} (from the exit-code file)", code)


def parse_config(text: str) -> SiteInfo:
    """Read ``scontrol show config``: accounting kind, MinJobAge, cluster name."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    storage = values.get("AccountingStorageType", "")
    jobcomp = values.get("JobCompType", "")
    accounting = "slurmdbd" if "slurmdbd" in storage else "jobcomp" if jobcomp.endswith("filetxt") else "none"
    age = re.match(r"\d+", values.get("MinJobAge", ""))
    arrays = re.match(r"\d+", values.get("MaxArraySize", ""))
    return SiteInfo(accounting, int(age.group()) if age else None, values.get("ClusterName", ""),
                    int(arrays.group()) if arrays else 1001)
