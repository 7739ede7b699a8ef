"""Kind ``human``: a person approves a step or answers with typed data.

``prepare`` stages the task's files (what the person should look at) and writes
``instructions.md`` (``env["INSTRUCTIONS"]``, or a default naming the task), ``schema.json``
(the schema of the whole response) and ``manifest.json``. ``submit`` leaves the attempt
WAITING_EXTERNAL with no external id: the attempt directory is the request. ``poll`` reads
``response.json`` (see :mod:`matterstack_ops_human.response`) and fails the attempt when
``timeout_minutes`` (``env["TIMEOUT_MINUTES"]``, else the instance setting) passed without a
final answer. ``collect`` hands the answer's ``data`` to the campaign and records every file
the person dropped, with its sha256.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from matterstack.plugins import (
    AttemptContext,
    AttemptStatus,
    CollectResult,
    Observation,
    PermanentOperatorError,
    SubmitResult,
    stage_files,
    utc_now,
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
    write_json_atomic,
    write_text_atomic,
)
from matterstack_ops_human.response import (
    RESPONSE_FILE,
    SCHEMA_FILE,
    Answer,
    data_schema_for,
    envelope_schema,
    read_answer,
)
from matterstack_ops_human.schema import describe_fields

TIMEOUT_ENV = "TIMEOUT_MINUTES"
CONTROL_FILES = frozenset({INSTRUCTIONS_FILE, SCHEMA_FILE, MANIFEST_FILE, RESPONSE_FILE, CANCEL_FILE})


def timeout_minutes(task, settings) -> float | None:
    """How long a person has to answer: ``env["TIMEOUT_MINUTES"]``, else the instance's
    ``timeout_minutes``, else no limit. :class:`PermanentOperatorError` for a bad value."""
    text = task.env.get(TIMEOUT_ENV)
    value = getattr(settings, "timeout_minutes", None) if text is None else text
    if value is None:
        return None
    try:
        minutes = float(value)
    except ValueError:
        minutes = math.nan
    if not math.isfinite(minutes) or minutes <= 0:
        source = f"env[{TIMEOUT_ENV!r}]" if text is not None else "timeout_minutes"
        raise PermanentOperatorError(f"{source} must be a positive number of minutes, found {value!r}",
                                     where=f"task {task.task_id!r}", fix="e.g. 1440 for a day")
    return minutes


def respond_command(attempt: AttemptContext) -> str:
    """The command that answers this attempt's request."""
    return f"matterstack human respond {attempt.run_id} {attempt.task.task_id}"


def render_instructions(attempt: AttemptContext, data_schema: dict, timeout: float | None) -> str:
    """``instructions.md``: what is asked, what the answer must contain, how to answer."""
    task = attempt.task
    asked = task.env.get(INSTRUCTIONS_ENV) or (
        f"Task `{task.task_id}` of run {attempt.run_id} waits for your decision: approve it or reject it."
    )
    fields = describe_fields(data_schema) or ["any fields you like (or none)"]
    lines = [
        f"# Human Task: {task.task_id}",
        "",
        asked.strip(),
        "",
        "## What the answer contains",
        "",
        *(f"- {line}" for line in fields),
        "",
        "## How to answer",
        "",
        f"    {respond_command(attempt)} --approve [--data key=value ...]",
        f"    {respond_command(attempt)} --reject --message \"why\"",
        "",
        f"Or write `{RESPONSE_FILE}` in this directory (its schema is `{SCHEMA_FILE}`):",
        "",
        "```json",
        '{"status": "COMPLETED", "data": {}}',
        "```",
        "",
        "`status` is COMPLETED, FAILED or WAITING, in upper case; a FAILED answer may say why in",
        '`"error"`. Files you add here are collected; name them in `"files"` to have them checked.',
    ]
    if timeout is not None:
        lines += ["", f"Without an answer within {timeout:g} minutes the task fails."]
    return "\n".join(lines) + "\n"


class HumanOperator(HandoffOperator):
    """Kind ``human``: each attempt is a request a person answers with ``response.json``."""

    waiting_reason = f"waiting for {RESPONSE_FILE}"

    def prepare(self, attempt: AttemptContext) -> None:
        task = attempt.task
        clashes = sorted(CONTROL_FILES & set(task.files))
        if clashes:
            raise PermanentOperatorError(f"task file {clashes[0]!r} would overwrite the request's own file",
                                         where=f"task {task.task_id!r}", fix="rename the file")
        attempt.attempt_dir.mkdir(parents=True, exist_ok=True)
        hashes = stage_files(task, attempt.attempt_dir)
        data_schema = data_schema_for(task, attempt.attempt_dir)
        timeout = timeout_minutes(task, self.settings)
        write_text_atomic(attempt.attempt_dir / INSTRUCTIONS_FILE, render_instructions(attempt, data_schema, timeout))
        write_json_atomic(attempt.attempt_dir / SCHEMA_FILE, envelope_schema(data_schema))
        write_manifest(task, attempt.attempt_dir, operator_key=self.key, token=attempt.attempt_id, hashes=hashes)

    def submit(self, attempt: AttemptContext) -> SubmitResult:
        return SubmitResult(
            external_id=None,
            status=AttemptStatus.WAITING_EXTERNAL,
            reason=f"waiting for {RESPONSE_FILE} in {attempt.relative_dir}",
            operator_data={"requested_at": utc_now().isoformat()},
        )

    def observe(self, attempt: AttemptContext) -> Observation:
        answer = read_answer(attempt.attempt_dir, data_schema_for(attempt.task, attempt.attempt_dir))
        if answer is not None and answer.status == "COMPLETED":
            return Observation(AttemptStatus.COMPLETED, external_id=attempt.external_id, reason=answer.reason)
        if answer is not None and answer.status == "FAILED":
            return Observation(AttemptStatus.FAILED, external_id=attempt.external_id, reason=answer.reason)
        deadline = self._deadline(attempt)
        if deadline is not None and utc_now() >= deadline:
            minutes = timeout_minutes(attempt.task, self.settings)
            return Observation(
                AttemptStatus.FAILED, external_id=attempt.external_id,
                reason=f"nobody answered within {minutes:g} minutes (timeout_minutes): "
                       f"no final {RESPONSE_FILE} in {attempt.relative_dir}")
        return self.waiting(attempt)

    def collect(self, attempt: AttemptContext) -> CollectResult:
        answer = self._answer(attempt)
        files = dropped_files(attempt.attempt_dir, CONTROL_FILES | set(attempt.task.files))
        return CollectResult(
            files={name: name for name in files},
            data=dict(answer.data) if answer is not None and answer.valid else {},
            sha256=hashed(files),
        )

    def describe_wait(self, attempt: AttemptContext) -> str:
        text = f"{RESPONSE_FILE} in {attempt.relative_dir} (answer with `{respond_command(attempt)}`)"
        too_large = self.unread(attempt, self._answer)
        if too_large:
            return text + too_large
        answer = self._answer(attempt)
        if answer is not None and answer.status == "WAITING":
            text = f"{answer.reason}; still waiting for a final {text}"
        try:
            deadline = self._deadline(attempt)
        except PermanentOperatorError as exc:
            return f"{text}; {exc.one_line()}"
        if deadline is not None:
            text += f"; times out at {deadline:%Y-%m-%d %H:%M} UTC"
        return text

    def _answer(self, attempt: AttemptContext) -> Answer | None:
        """The current response, or None when there is none or the task's schema is broken."""
        try:
            return read_answer(attempt.attempt_dir, data_schema_for(attempt.task, attempt.attempt_dir))
        except PermanentOperatorError:
            return None

    def _deadline(self, attempt: AttemptContext) -> datetime | None:
        minutes = timeout_minutes(attempt.task, self.settings)
        since = self.requested_at(attempt)
        if minutes is None or since is None:
            return None
        return since + timedelta(minutes=minutes)
