"""Kind ``manual_hpc``: the job bundle, and the rules status.json → output/ → wait."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest
from human_kit import attempt_in

from matterstack import Task
from matterstack.plugins import AttemptStatus, PermanentOperatorError

HOSTILE = "$(touch pwned) `touch pwned` '; touch pwned; '"


def job(**changes) -> Task:
    values = dict(task_id="relax", command="cat structure.xyz | wc -l > lines.txt && echo \"$LABEL\" > label.txt",
                  files={"structure.xyz": "2\nH2\nH 0 0 0\nH 0 0 0.74\n"}, env={"LABEL": HOSTILE}, cores=4)
    values.update(changes)
    return Task(**values)


def bundle(manual_hpc, task=None):
    attempt = attempt_in(manual_hpc.context.run_dir, task or job(), operator_key="manual_hpc.default")
    manual_hpc.prepare(attempt)
    result = manual_hpc.submit(attempt)
    assert result.status == AttemptStatus.WAITING_EXTERNAL
    return attempt


def observe(manual_hpc, attempt):
    return manual_hpc.poll([attempt])[attempt.attempt_id]


def run_job(attempt, *args):
    return subprocess.run(["sh", "job.sh", *args], cwd=attempt.attempt_dir, capture_output=True, text=True, timeout=60)


def test_prepare_writes_a_bundle_with_inputs_job_and_instructions(manual_hpc):
    attempt = bundle(manual_hpc)
    folder = attempt.attempt_dir

    assert (folder / "structure.xyz").is_file() and (folder / "output").is_dir()
    assert json.loads((folder / "manifest.json").read_text())["token"] == "a1"
    instructions = (folder / "instructions.md").read_text()
    assert "resources asked: cores 4" in instructions and str(folder) in instructions
    assert "a valid `status.json` decides" in instructions
    assert observe(manual_hpc, attempt).status == AttemptStatus.WAITING_EXTERNAL
    assert manual_hpc.describe_wait(attempt).startswith(
        "status.json or files in output/ of the job bundle tasks/relax/attempts/a1")


def test_running_job_sh_fills_output_and_status_and_the_attempt_completes(manual_hpc):
    attempt = bundle(manual_hpc)

    ran = run_job(attempt)
    seen = observe(manual_hpc, attempt)
    collected = manual_hpc.collect(attempt)

    assert ran.returncode == 0, ran.stderr
    assert not (attempt.attempt_dir / "pwned").exists()
    assert (attempt.attempt_dir / "output" / "label.txt").read_text() == HOSTILE + "\n"
    assert json.loads((attempt.attempt_dir / "status.json").read_text()) == {"status": "COMPLETED", "exit_code": 0}
    assert (seen.status, seen.exit_code) == (AttemptStatus.COMPLETED, 0)
    assert collected.files == {"label.txt": "output/label.txt", "lines.txt": "output/lines.txt"}
    assert collected.sha256["lines.txt"] == hashlib.sha256(b"4\n").hexdigest()
    assert collected.data == {"exit_code": 0}


def test_a_failing_job_writes_failed_status_with_its_exit_code(manual_hpc):
    attempt = bundle(manual_hpc, job(command="echo partial > part.txt; exit 3"))

    run_job(attempt)
    seen = observe(manual_hpc, attempt)

    assert (seen.status, seen.exit_code, seen.reason) == (AttemptStatus.FAILED, 3, "status.json says FAILED, exit code 3")


def test_job_sh_refuses_to_run_outside_its_bundle(manual_hpc, tmp_path):
    attempt = bundle(manual_hpc)

    ran = subprocess.run(["sh", str(attempt.attempt_dir / "job.sh")], cwd=tmp_path, capture_output=True, text=True)

    assert ran.returncode == 2 and "run me from inside my bundle folder" in ran.stderr


def test_files_in_output_without_status_mean_completed(manual_hpc):
    attempt = bundle(manual_hpc)
    (attempt.attempt_dir / "output" / "energy.txt").write_text("-1.17\n")

    seen = observe(manual_hpc, attempt)

    assert (seen.status, seen.reason) == (AttemptStatus.COMPLETED, "files found in output/ (no status.json)")
    assert manual_hpc.collect(attempt).files == {"energy.txt": "output/energy.txt"}


@pytest.mark.parametrize("status, expected", [
    ({"status": "FAILED", "error": "node crashed"}, AttemptStatus.FAILED),
    ({"status": "WAITING"}, AttemptStatus.WAITING_EXTERNAL),
    ({"status": "COMPLETED", "exit_code": 0}, AttemptStatus.COMPLETED),
])
def test_a_valid_status_decides_even_when_outputs_are_there(manual_hpc, status, expected):
    attempt = bundle(manual_hpc)
    (attempt.attempt_dir / "output" / "energy.txt").write_text("-1.17\n")
    (attempt.attempt_dir / "status.json").write_text(json.dumps(status))

    assert observe(manual_hpc, attempt).status == expected


@pytest.mark.parametrize("raw, message", [
    ("{", "invalid status.json: not valid JSON"),
    ('{"status": "done"}', 'status: "done" is not one of COMPLETED, FAILED, WAITING'),
    ('{"status": "failed"}', "in upper case"),
    ('{"status": "FAILED", "exit_code": "3"}', "exit_code: expected an integer, found a string"),
])
def test_an_invalid_status_fails_the_attempt_with_the_message(manual_hpc, raw, message):
    attempt = bundle(manual_hpc)
    (attempt.attempt_dir / "status.json").write_text(raw)

    seen = observe(manual_hpc, attempt)

    assert seen.status == AttemptStatus.FAILED and message in seen.reason


@pytest.mark.parametrize("task, message", [
    (job(files={"output/x.txt": "x"}), "collides with the job bundle's own files"),
    (job(files={"job.sh": "x"}), "collides with the job bundle's own files"),
    (job(env={"NOT-A-NAME": "x"}), "env name 'NOT-A-NAME' cannot be exported by job.sh"),
])
def test_a_bundle_that_cannot_be_made_is_refused(manual_hpc, task, message):
    with pytest.raises(PermanentOperatorError, match=message):
        manual_hpc.prepare(attempt_in(manual_hpc.context.run_dir, task))


def test_cancel_and_reconcile_work_like_the_human_kind(manual_hpc):
    attempt = bundle(manual_hpc)

    assert manual_hpc.reconcile([attempt])["a1"].status == AttemptStatus.WAITING_EXTERNAL
    manual_hpc.cancel(attempt)
    assert observe(manual_hpc, attempt).status == AttemptStatus.CANCELLED
