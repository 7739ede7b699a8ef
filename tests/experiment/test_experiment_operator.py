"""Kind ``experiment`` over files: the request in the attempt directory or in a shared
exchange folder, the lab's answer read, copied back, hashed; cancellation and reconcile."""

from __future__ import annotations

import hashlib
import json

import pytest
from experiment_kit import attempt_in, film_task, operator_context, plain_task, write_result

from matterstack.plugins import AttemptStatus, ConfigError, PermanentOperatorError, TransientOperatorError
from matterstack_ops_experiment.agent import Agent
from matterstack_ops_experiment.operator import ExperimentOperator
from matterstack_ops_experiment.register import ExperimentSettings, LabApiSettings
from matterstack_ops_experiment.simulated import thin_film


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def submitted(operator, attempt):
    operator.prepare(attempt)
    return operator.submit(attempt)


def test_the_request_carries_token_parameters_config_and_request_data(experiment, run_dir):
    attempt = attempt_in(run_dir, film_task(sample_id="film-a"))

    result = submitted(experiment, attempt)

    request = json.loads((attempt.attempt_dir / "experiment_request.json").read_text())
    assert list(request)[:5] == ["task_id", "parameters", "files", "config", "config_raw"]
    assert request["token"] == attempt.attempt_id and request["task_id"] == "synthesize"
    assert request["config"] == {"instrument": "sputter-1"} and request["config_raw"] is None
    assert request["request_data"] == {"deposition_time_s": 120, "temperature_c": 100, "sample_id": "film-a"}
    assert request["files"] == ["recipe.txt"] and (attempt.attempt_dir / "recipe.txt").read_text() == "Cu film\n"
    assert (attempt.attempt_dir / "manifest.json").is_file()
    assert result.status == AttemptStatus.WAITING_EXTERNAL and result.external_id is None
    assert result.reason == ("request sent: waiting for experiment_result.json from "
                             f"tasks/synthesize/attempts/{attempt.attempt_id}")


def test_a_config_that_is_not_json_travels_as_config_raw(experiment, run_dir):
    task = plain_task()
    task.env = {"EXPERIMENT_CONFIG": "two_theta=20..80"}
    attempt = attempt_in(run_dir, task)

    submitted(experiment, attempt)

    request = json.loads((attempt.attempt_dir / "experiment_request.json").read_text())
    assert (request["config"], request["config_raw"]) == ({}, "two_theta=20..80")
    assert "request_data" not in request


def test_a_task_file_named_like_a_protocol_file_is_refused(experiment, run_dir):
    attempt = attempt_in(run_dir, plain_task(**{"experiment_result.json": "{}"}))

    with pytest.raises(PermanentOperatorError, match="would overwrite a file of the request protocol"):
        experiment.prepare(attempt)


def test_waiting_then_running_then_completed_with_files_hashed(experiment, run_dir):
    attempt = attempt_in(run_dir, film_task())
    submitted(experiment, attempt)

    waiting = experiment.poll([attempt])[attempt.attempt_id]
    write_result(attempt.attempt_dir, {"status": "RUNNING"})
    running = experiment.poll([attempt])[attempt.attempt_id]
    (attempt.attempt_dir / "sub").mkdir()
    (attempt.attempt_dir / "sub" / "profile.csv").write_text("x,y\n1,2\n")
    write_result(attempt.attempt_dir, {"status": "COMPLETED", "data": {"thickness_nm": 101.5}, "files": ["sub/profile.csv"]})
    done = experiment.poll([attempt])[attempt.attempt_id]
    collected = experiment.collect(attempt)

    assert waiting.status == AttemptStatus.WAITING_EXTERNAL
    assert "waiting for experiment_result.json in tasks/" in waiting.reason
    assert running.status == AttemptStatus.RUNNING
    assert (done.status, done.reason) == (AttemptStatus.COMPLETED, "the lab reported COMPLETED with 1 file(s)")
    assert collected.data == {"thickness_nm": 101.5}
    assert sorted(collected.files) == ["experiment_request.json", "experiment_result.json", "recipe.txt", "sub/profile.csv"]
    assert collected.sha256["sub/profile.csv"] == sha256(attempt.attempt_dir / "sub" / "profile.csv")


def test_submitting_twice_keeps_one_request(experiment, run_dir):
    attempt = attempt_in(run_dir, film_task())
    submitted(experiment, attempt)
    first = (attempt.attempt_dir / "experiment_request.json").stat()

    submitted(experiment, attempt)

    assert (attempt.attempt_dir / "experiment_request.json").stat().st_mtime_ns == first.st_mtime_ns


def test_reconcile_adopts_a_request_written_before_a_crash(experiment, run_dir):
    written, lost = attempt_in(run_dir, film_task("a"), "t1"), attempt_in(run_dir, film_task("b"), "t2")
    experiment.prepare(written)

    found = experiment.reconcile([written, lost])

    assert found["t1"].status == AttemptStatus.WAITING_EXTERNAL and found["t2"] is None


def test_cancel_leaves_a_file_the_lab_sees_and_the_attempt_reads_cancelled(experiment, run_dir, tmp_path):
    attempt = attempt_in(run_dir, film_task())
    submitted(experiment, attempt)

    experiment.cancel(attempt)

    marker = json.loads((attempt.attempt_dir / "experiment_cancel.json").read_text())
    assert marker["token"] == attempt.attempt_id
    assert experiment.poll([attempt])[attempt.attempt_id].status == AttemptStatus.CANCELLED
    assert Agent(run_dir, thin_film, log=lambda line: None).serve_pass() == 0


def test_describe_wait_names_the_file_and_when_the_request_was_sent(experiment, run_dir):
    attempt = attempt_in(run_dir, film_task())
    result = submitted(experiment, attempt)
    attempt = attempt_in(run_dir, film_task(), operator_data=result.operator_data)

    words = experiment.describe_wait(attempt)

    assert words == (f"experiment_result.json in tasks/synthesize/attempts/{attempt.attempt_id} "
                     f"(request sent {result.operator_data['requested_at']}; no lab agent has claimed it yet)")


def test_a_shared_exchange_gets_one_folder_per_token_and_answers_come_back(shared, run_dir, lab_dir):
    first, second = attempt_in(run_dir, film_task("a"), "tok-1"), attempt_in(run_dir, film_task("b"), "tok-2")
    for attempt in (first, second, first):
        submitted(shared, attempt)
    assert sorted(p.name for p in lab_dir.iterdir()) == ["tok-1", "tok-2"]
    assert sorted(p.name for p in (lab_dir / "tok-1").iterdir()) == ["experiment_request.json", "recipe.txt"]
    assert shared.describe_wait(first).startswith(f"experiment_result.json in {lab_dir / 'tok-1'} (")

    Agent(lab_dir, thin_film, log=lambda line: None).serve_pass()
    observed = shared.poll([first, second])
    collected = shared.collect(first)

    assert {o.status for o in observed.values()} == {AttemptStatus.COMPLETED}
    copied = first.attempt_dir / "thin_film_profile.csv"
    assert copied.read_bytes() == (lab_dir / "tok-1" / "thin_film_profile.csv").read_bytes()
    assert collected.sha256["thin_film_profile.csv"] == sha256(copied)
    assert collected.data["thickness_nm"] > 0


def test_a_shared_exchange_that_is_gone_is_an_outage_not_a_failure(shared, run_dir, lab_dir):
    attempt = attempt_in(run_dir, film_task())
    submitted(shared, attempt)
    lab_dir.rename(lab_dir.with_name("unmounted"))

    with pytest.raises(TransientOperatorError, match="exchange folder is not reachable"):
        shared.poll([attempt])


def test_cancel_in_a_shared_exchange_lands_in_the_request_folder(shared, run_dir, lab_dir):
    attempt = attempt_in(run_dir, film_task(), "tok-9")
    submitted(shared, attempt)

    shared.cancel(attempt)

    assert (lab_dir / "tok-9" / "experiment_cancel.json").is_file()
    assert shared.poll([attempt])["tok-9"].status == AttemptStatus.CANCELLED


def test_exchange_dir_and_api_together_are_refused(run_dir):
    settings = ExperimentSettings(exchange_dir="/lab", api=LabApiSettings(base_url="http://lab:8000"))

    with pytest.raises(ConfigError, match="exchange_dir and api exclude each other"):
        ExperimentOperator("experiment.default", settings, operator_context(run_dir))


def test_a_task_file_name_a_shared_exchange_cannot_hold_fails_for_good(shared, run_dir, lab_dir):
    attempt = attempt_in(run_dir, plain_task(**{".sheet.txt": "x"}))
    shared.prepare(attempt)

    with pytest.raises(PermanentOperatorError, match=r"input file '\.sheet\.txt': hidden names .* are not allowed"):
        shared.submit(attempt)
    assert list(lab_dir.iterdir()) == []
