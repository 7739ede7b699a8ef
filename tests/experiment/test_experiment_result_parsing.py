"""Reading a lab's answer never raises: any JSON, text or bytes either is a valid answer or
becomes a FAILED observation with a message; result files cannot escape their folder."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from experiment_kit import LEGACY, attempt_in, film_task, write_result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matterstack.plugins import AttemptStatus
from matterstack_ops_experiment.protocol import RESULT_STATUSES, name_problem, parse_result, read_result

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
NAMES = st.text(max_size=12) | st.sampled_from(["profile.csv", "../up.csv", "/etc/passwd", "a/../b", ".hidden",
                                                "sub/ok.csv", "experiment_request.json", "a\\b", ""])
RESULT_LIKE = st.fixed_dictionaries(
    {"status": st.sampled_from([*RESULT_STATUSES, "DONE", "completed"]) | JSON},
    optional={"data": JSON, "files": st.lists(NAMES, max_size=3) | JSON, "error": st.text(max_size=10) | JSON},
)
ANY_INPUT = JSON | RESULT_LIKE | st.text() | st.binary() | RESULT_LIKE.map(json.dumps).map(str.encode)


@given(ANY_INPUT)
@settings(max_examples=200, deadline=None)
def test_any_input_parses_or_fails_with_a_message(raw):
    reading = parse_result(raw)

    assert reading.status in RESULT_STATUSES
    if reading.valid:
        assert isinstance(reading.data, dict) and all(name_problem(n) is None for n in reading.files)
    else:
        assert reading.status == "FAILED" and reading.problem and reading.reason.startswith("invalid ")


@given(st.binary() | RESULT_LIKE.map(json.dumps).map(str.encode) | JSON.map(json.dumps).map(str.encode))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_result_file_gives_an_observation_and_collects(experiment, raw):
    run_dir = Path(tempfile.mkdtemp())
    try:
        attempt = attempt_in(run_dir, film_task())
        experiment.prepare(attempt)
        write_result(attempt.attempt_dir, raw)

        observed = experiment.poll([attempt])[attempt.attempt_id]
        collected = experiment.collect(attempt)
    finally:
        shutil.rmtree(run_dir)

    assert observed.status in (AttemptStatus.COMPLETED, AttemptStatus.FAILED, AttemptStatus.RUNNING)
    assert observed.reason
    assert "experiment_result.json" in collected.files and set(collected.sha256) == set(collected.files)


@pytest.mark.parametrize(("document", "message"), [
    (b"\xff\xfe", "invalid experiment_result.json: not UTF-8 text"),
    ("{\"status\": ", "invalid experiment_result.json: not valid JSON (Expecting value at line 1 column 12)"),
    ("[]", "expected a JSON object, found a list"),
    ({"data": {}}, "'status' must be COMPLETED, FAILED or RUNNING (it is missing)"),
    ({"status": "done"}, "'status' must be COMPLETED, FAILED or RUNNING (found 'done')"),
    ({"status": "COMPLETED", "data": [1]}, "'data' must be an object, found a list"),
    ({"status": "COMPLETED", "files": "a.csv"}, "'files' must be a list of names, found a string"),
    ({"status": "COMPLETED", "files": ["../../etc/passwd"]}, "file '../../etc/passwd': '..' is not allowed"),
    ({"status": "COMPLETED", "files": ["/etc/passwd"]}, "file '/etc/passwd': absolute paths are not allowed"),
    ({"status": "COMPLETED", "files": ["missing.csv"]}, "file 'missing.csv' is listed but missing"),
    ({"status": "FAILED", "error": 3}, "'error' must be a string, found a number"),
])
def test_an_invalid_result_fails_the_attempt_with_the_reason(experiment, run_dir, document, message):
    attempt = attempt_in(run_dir, film_task())
    experiment.prepare(attempt)
    write_result(attempt.attempt_dir, document)

    observed = experiment.poll([attempt])[attempt.attempt_id]

    assert observed.status == AttemptStatus.FAILED and message in observed.reason


def test_a_symlink_out_of_the_folder_is_refused_and_not_collected(experiment, run_dir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the lab\n")
    attempt = attempt_in(run_dir, film_task())
    experiment.prepare(attempt)
    os.symlink(secret, attempt.attempt_dir / "profile.csv")
    write_result(attempt.attempt_dir, {"status": "COMPLETED", "files": ["profile.csv"]})

    observed = experiment.poll([attempt])[attempt.attempt_id]
    collected = experiment.collect(attempt)

    assert observed.status == AttemptStatus.FAILED
    assert "file 'profile.csv' leads outside the result's folder" in observed.reason
    assert "profile.csv" not in collected.files


def test_a_lab_failure_keeps_its_message_and_data(experiment, run_dir):
    attempt = attempt_in(run_dir, film_task())
    experiment.prepare(attempt)
    write_result(attempt.attempt_dir, {"status": "FAILED", "error": "target arced", "data": {"power_w": 300}})

    observed = experiment.poll([attempt])[attempt.attempt_id]

    assert (observed.status, observed.reason) == (AttemptStatus.FAILED, "the lab reported FAILED: target arced")
    assert experiment.collect(attempt).data == {"power_w": 300}


@pytest.mark.parametrize("result", sorted(LEGACY.glob("*/*/runs/*/*/*/*/experiment_result.json")) +
                         sorted(LEGACY.glob("*/*/runs/*/tasks/*/attempts/*/experiment_result.json")),
                         ids=lambda p: p.relative_to(LEGACY).parts[0])
def test_results_written_for_matterstack_0_2_are_read_unchanged(result):
    reading = read_result(result.parent)

    assert reading.valid and reading.status == "COMPLETED" and reading.data and reading.files
