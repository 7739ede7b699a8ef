"""Kind ``manual_hpc``: a person runs a job bundle on a cluster MatterStack cannot reach.

``prepare`` writes the bundle into the attempt directory: the task's files (staged as for a
compute task, so the same command works), ``job.sh`` (runs the command, copies every new
file into ``output/``, then writes ``status.json``), ``instructions.md`` and
``manifest.json``. The attempt then waits. The rules, checked on every poll:

1. a ``status.json`` decides: ``{"status": "COMPLETED"|"FAILED"|"WAITING", "exit_code": 0,
   "error": "..."}`` (WAITING keeps waiting even when outputs are there); one that is not
   valid fails the attempt with the validation message;
2. otherwise any file under ``output/`` means COMPLETED;
3. otherwise the attempt keeps waiting.

``collect`` records every file under ``output/`` with its sha256.
"""

from __future__ import annotations

import shlex

import attrs

from matterstack.plugins import (
    ANSWER_FILE_LIMIT,
    AttemptContext,
    AttemptStatus,
    CollectResult,
    Observation,
    PermanentOperatorError,
    SubmitResult,
    read_within_limit,
    stage_files,
    write_manifest,
)

from matterstack_ops_human.handoff import (
    CANCEL_FILE,
    INSTRUCTIONS_ENV,
    INSTRUCTIONS_FILE,
    MANIFEST_FILE,
    HandoffOperator,
    dropped_files,
    hashed,
    write_text_atomic,
)
from matterstack_ops_human.response import STATUSES, load_json, status_problem, summarize
from matterstack_ops_human.schema import validate

JOB_FILE = "job.sh"
STATUS_FILE = "status.json"
OUTPUT_DIR = "output"
BUNDLE_FILES = frozenset({JOB_FILE, STATUS_FILE, INSTRUCTIONS_FILE, MANIFEST_FILE, CANCEL_FILE, "config_snapshot"})
STATUS_SCHEMA = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"type": "string", "enum": list(STATUSES)},
        "exit_code": {"type": "integer"},
        "error": {"type": "string"},
    },
}

JOB_SCRIPT = """#!/bin/sh
# MatterStack manual_hpc job bundle: task {task_id}, attempt {attempt_id}.
# Run it from inside this folder: `sh job.sh` (or `sbatch job.sh`). See instructions.md.
if [ ! -f {manifest} ]; then
  echo "job.sh: run me from inside my bundle folder (the one holding {manifest})" >&2
  exit 2
fi
{exports}
find . -type f ! -path './{output}/*' | LC_ALL=C sort > .bundle_files
/bin/sh -c {command}
code=$?
mkdir -p {output}
find . -type f ! -path './{output}/*' ! -name .bundle_files | LC_ALL=C sort | LC_ALL=C comm -13 .bundle_files - |
while IFS= read -r file; do
  mkdir -p "{output}/$(dirname "$file")" && cp -p "$file" "{output}/$file"
done
rm -f .bundle_files
if [ "$code" -eq 0 ]; then status=COMPLETED; else status=FAILED; fi
printf '{{"status": "%s", "exit_code": %d}}\\n' "$status" "$code" > .{status}.tmp && mv .{status}.tmp {status}
exit "$code"
"""


@attrs.frozen
class StatusReport:
    """A ``status.json`` as read: its status, exit code and error, or why it is invalid."""

    status: str | None
    exit_code: int | None = None
    error: str | None = None
    problems: tuple[str, ...] = ()


def parse_status(raw: bytes | str) -> StatusReport:
    """Read a ``status.json``; never raises."""
    document, error = load_json(raw)
    if error is not None:
        return StatusReport(None, problems=(f"not valid JSON ({error})",))
    try:
        problems = validate(document, STATUS_SCHEMA)
    except RecursionError:
        problems = ["it is nested too deeply"]
    if isinstance(document, dict) and document.get("status") not in STATUSES:
        problems = [status_problem(document)] + [p for p in problems if not p.startswith("status:")]
    if problems:
        return StatusReport(None, problems=tuple(problems))
    code = document.get("exit_code")
    return StatusReport(document["status"], None if code is None else int(code), document.get("error"))


def render_job(attempt: AttemptContext) -> str:
    """``job.sh``: every value that reaches the shell is quoted."""
    task = attempt.task
    bad = sorted(name for name in task.env if not name.isidentifier() or not name.isascii())
    if bad:
        raise PermanentOperatorError(f"env name {bad[0]!r} cannot be exported by job.sh",
                                     where=f"task {task.task_id!r}", fix="use letters, digits and '_'")
    exports = "\n".join(f"export {name}={shlex.quote(value)}" for name, value in sorted(task.env.items()))
    return JOB_SCRIPT.format(task_id=task.task_id, attempt_id=attempt.attempt_id, manifest=MANIFEST_FILE,
                             exports=exports, output=OUTPUT_DIR, command=shlex.quote(task.command),
                             status=STATUS_FILE)


def render_instructions(attempt: AttemptContext) -> str:
    """``instructions.md``: how to run the bundle and bring the results back."""
    task = attempt.task
    asked = [task.env[INSTRUCTIONS_ENV].strip(), ""] if task.env.get(INSTRUCTIONS_ENV) else []
    wanted = ", ".join(f"{name} {value}" for name, value in (
        ("cores", task.cores), ("memory GB", task.memory_gb), ("GPUs", task.gpus),
        ("minutes", task.time_limit_minutes)) if value) or "none stated"
    lines = [
        f"# Manual HPC job: {task.task_id}",
        "",
        *asked,
        "This folder is a job bundle for a cluster MatterStack cannot reach.",
        "",
        "1. Copy this folder to the cluster.",
        f"2. Inside the copy, run `sh {JOB_FILE}` (or `sbatch {JOB_FILE}`; resources asked: {wanted}).",
        f"   It runs `{task.command}`, copies every new file into `{OUTPUT_DIR}/`, then writes `{STATUS_FILE}`.",
        f"3. Copy `{OUTPUT_DIR}/` back here first, then `{STATUS_FILE}`:",
        f"   {attempt.attempt_dir}",
        "",
        "On its next tick MatterStack decides:",
        "",
        f'- a valid `{STATUS_FILE}` decides: `{{"status": "COMPLETED"|"FAILED"|"WAITING", "exit_code": 0, '
        '"error": "..."}` (upper case; WAITING keeps waiting); an invalid one fails the task;',
        f"- without `{STATUS_FILE}`, any file under `{OUTPUT_DIR}/` means COMPLETED;",
        "- otherwise the task keeps waiting.",
    ]
    return "\n".join(lines) + "\n"


class ManualHpcOperator(HandoffOperator):
    """Kind ``manual_hpc``: each attempt is a job bundle a person runs by hand."""

    waiting_reason = f"waiting for {STATUS_FILE} or files in {OUTPUT_DIR}/"

    def prepare(self, attempt: AttemptContext) -> None:
        task = attempt.task
        for key in sorted(task.files):
            if key.split("/")[0] in BUNDLE_FILES | {OUTPUT_DIR}:
                raise PermanentOperatorError(f"task file {key!r} collides with the job bundle's own files",
                                             where=f"task {task.task_id!r}",
                                             fix=f"rename it (reserved: {', '.join(sorted(BUNDLE_FILES))}, {OUTPUT_DIR}/)")
        attempt.attempt_dir.mkdir(parents=True, exist_ok=True)
        hashes = stage_files(task, attempt.attempt_dir)
        job = attempt.attempt_dir / JOB_FILE
        write_text_atomic(job, render_job(attempt))
        job.chmod(0o755)
        write_text_atomic(attempt.attempt_dir / INSTRUCTIONS_FILE, render_instructions(attempt))
        (attempt.attempt_dir / OUTPUT_DIR).mkdir(exist_ok=True)
        write_manifest(task, attempt.attempt_dir, operator_key=self.key, token=attempt.attempt_id, hashes=hashes)

    def submit(self, attempt: AttemptContext) -> SubmitResult:
        return SubmitResult(external_id=None, status=AttemptStatus.WAITING_EXTERNAL,
                            reason=f"job bundle ready in {attempt.relative_dir}: run {JOB_FILE} on the cluster")

    def observe(self, attempt: AttemptContext) -> Observation:
        report = self._status(attempt)
        if report is not None and report.problems:
            return Observation(AttemptStatus.FAILED, reason=f"invalid {STATUS_FILE}: {summarize(list(report.problems))}")
        if report is not None and report.status in ("COMPLETED", "FAILED"):
            detail = f", exit code {report.exit_code}" if report.exit_code is not None else ""
            detail += f": {report.error}" if report.error else ""
            return Observation(AttemptStatus(report.status), reason=f"{STATUS_FILE} says {report.status}{detail}",
                               exit_code=report.exit_code)
        if report is None and self._outputs(attempt):
            return Observation(AttemptStatus.COMPLETED, reason=f"files found in {OUTPUT_DIR}/ (no {STATUS_FILE})")
        return self.waiting(attempt)

    def collect(self, attempt: AttemptContext) -> CollectResult:
        outputs = self._outputs(attempt)
        report = self._status(attempt)
        exit_code = report.exit_code if report is not None else None
        return CollectResult(
            files={name: f"{OUTPUT_DIR}/{name}" for name in outputs},
            data={} if exit_code is None else {"exit_code": exit_code},
            sha256=hashed(outputs),
        )

    def describe_wait(self, attempt: AttemptContext) -> str:
        return (f"{STATUS_FILE} or files in {OUTPUT_DIR}/ of the job bundle {attempt.relative_dir} "
                f"(run {JOB_FILE} on the cluster; see {INSTRUCTIONS_FILE} there)" + self.unread(attempt, self._status))

    def _status(self, attempt: AttemptContext) -> StatusReport | None:
        try:
            raw = read_within_limit(attempt.attempt_dir / STATUS_FILE, ANSWER_FILE_LIMIT)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return StatusReport(None, problems=(f"cannot be read ({exc.strerror or exc})",))
        return parse_status(raw)

    def _outputs(self, attempt: AttemptContext) -> dict:
        folder = attempt.attempt_dir / OUTPUT_DIR
        return dropped_files(folder, set()) if folder.is_dir() else {}
