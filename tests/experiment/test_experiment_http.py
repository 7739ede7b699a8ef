"""Kind ``experiment`` over HTTP, against the agent's real lab API on loopback: idempotent
POST, bearer token from the environment, answers and files downloaded, DELETE, outages."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from experiment_kit import LAB_TOKEN, TOKEN_ENV, attempt_in, film_task, http_operator, plain_task

from matterstack import ExternalTask, Workflow
from matterstack.core.campaign import Campaign
from matterstack.orchestrator.api import build_registry, initialize_run, step_once
from matterstack.orchestrator.explain import explain
from matterstack.wiring.model import InstanceConfig, Wiring
from matterstack.plugins import AttemptStatus, PermanentOperatorError, PluginHost, TransientOperatorError
from matterstack.store import StateStore
from matterstack_ops_experiment.agent import Agent
from matterstack_ops_experiment.http_server import LabApiServer
from matterstack_ops_experiment.register import ExperimentSettings, LabApiSettings
from matterstack_ops_experiment.simulated import thin_film


def post(url: str, token: str, body: dict, bearer: str | None = LAB_TOKEN) -> int:
    headers = {"Idempotency-Key": token, "Content-Type": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    request = urllib.request.Request(f"{url}/requests", json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def serve_lab(lab_dir) -> int:
    return Agent(lab_dir, thin_film, log=lambda line: None).serve_pass()


def test_posting_one_token_twice_creates_one_request(lab_server, lab_dir):
    body = {"request": {"task_id": "t"}, "files": {}}

    codes = [post(lab_server.url, "tok-1", body), post(lab_server.url, "tok-1", body)]

    assert codes == [201, 200]
    assert [p.name for p in lab_dir.iterdir()] == ["tok-1"]


def test_the_server_refuses_a_missing_or_wrong_bearer_token(lab_server, lab_dir):
    body = {"request": {}, "files": {}}

    assert post(lab_server.url, "tok-1", body, bearer=None) == 401
    assert post(lab_server.url, "tok-1", body, bearer="guess") == 401
    assert list(lab_dir.iterdir()) == []


def test_submit_is_idempotent_and_the_answer_and_files_come_back(over_http, run_dir, lab_dir):
    attempt = attempt_in(run_dir, film_task(), "tok-1")
    over_http.prepare(attempt)

    results = [over_http.submit(attempt), over_http.submit(attempt)]
    pending = over_http.poll([attempt])["tok-1"]
    serve_lab(lab_dir)
    done = over_http.poll([attempt])["tok-1"]
    collected = over_http.collect(attempt)

    assert [r.external_id for r in results] == ["tok-1", "tok-1"] and len(list(lab_dir.iterdir())) == 1
    assert (lab_dir / "tok-1" / "recipe.txt").read_text() == "Cu film\n"
    assert pending.status == AttemptStatus.WAITING_EXTERNAL and "(lab state PENDING)" in pending.reason
    assert done.status == AttemptStatus.COMPLETED
    profile = attempt.attempt_dir / "thin_film_profile.csv"
    assert profile.read_bytes() == (lab_dir / "tok-1" / "thin_film_profile.csv").read_bytes()
    assert set(collected.files) == {"experiment_request.json", "experiment_result.json", "recipe.txt",
                                    "thin_film_profile.csv"}
    assert collected.data["sheet_resistance_ohm_sq"] > 0


def test_the_token_is_read_at_call_time_and_never_written(over_http, run_dir, monkeypatch):
    attempt = attempt_in(run_dir, film_task(), "tok-1")
    over_http.prepare(attempt)
    monkeypatch.delenv(TOKEN_ENV)

    with pytest.raises(TransientOperatorError, match=f"the environment variable {TOKEN_ENV} .* is not set"):
        over_http.submit(attempt)
    monkeypatch.setenv(TOKEN_ENV, LAB_TOKEN)
    result = over_http.submit(attempt)

    assert LAB_TOKEN not in json.dumps(result.operator_data)
    assert not any(LAB_TOKEN.encode() in p.read_bytes() for p in run_dir.rglob("*") if p.is_file())


def test_a_wrong_token_is_an_outage_not_a_failure(run_dir, lab_server, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "stale-token")
    operator = http_operator(run_dir, lab_server.url)
    attempt = attempt_in(run_dir, film_task())
    operator.prepare(attempt)

    with pytest.raises(TransientOperatorError, match="HTTP 401: missing or wrong bearer token"):
        operator.submit(attempt)


def test_a_request_the_lab_refuses_fails_for_good(over_http, run_dir):
    attempt = attempt_in(run_dir, plain_task(**{"scan\\1.txt": "x"}))
    over_http.prepare(attempt)

    with pytest.raises(PermanentOperatorError, match="HTTP 400: input file 'scan.*1.txt': file names may not contain"):
        over_http.submit(attempt)


def test_delete_withdraws_the_request_and_the_agent_leaves_it(over_http, run_dir, lab_dir):
    attempt = attempt_in(run_dir, film_task(), "tok-1")
    over_http.prepare(attempt)
    over_http.submit(attempt)

    over_http.cancel(attempt)

    assert (lab_dir / "tok-1" / "experiment_cancel.json").is_file()
    assert over_http.poll([attempt])["tok-1"].status == AttemptStatus.CANCELLED
    assert serve_lab(lab_dir) == 0


def test_a_listed_file_the_lab_does_not_serve_fails_the_attempt(over_http, run_dir, lab_dir):
    attempt = attempt_in(run_dir, film_task(), "tok-1")
    over_http.prepare(attempt)
    over_http.submit(attempt)
    (lab_dir / "tok-1" / "experiment_result.json").write_text(json.dumps({"status": "COMPLETED", "files": ["gone.csv"]}))

    observed = over_http.poll([attempt])["tok-1"]

    assert observed.status == AttemptStatus.FAILED
    assert "'gone.csv' is listed but the lab API does not serve it" in observed.reason


class OneFilm(Campaign):
    def plan(self, state):
        return None if state else Workflow([ExternalTask(task_id="synthesize", request_data={
            "deposition_time_s": 60, "temperature_c": 200})])

    def analyze(self, state, results):
        return {"film": results["synthesize"]["data"]}


def test_a_lab_api_outage_leaves_the_attempt_waiting_and_explain_shows_it(tmp_path, lab_dir, lab_token):
    # given a run whose request was POSTed to the lab API
    server = LabApiServer(lab_dir, LAB_TOKEN, log=lambda line: None).start()
    port = int(server.url.rsplit(":", 1)[1])
    host = PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": "matterstack-ops-experiment"})
    settings = ExperimentSettings(api=LabApiSettings(base_url=server.url, token_env=TOKEN_ENV))
    wiring = Wiring(instances={"experiment.default": InstanceConfig("experiment.default", "experiment", settings)})
    handle = initialize_run("films", OneFilm(), base_path=tmp_path / "workspaces")
    registry = build_registry(handle, wiring, host=host)
    assert step_once(handle, OneFilm(), registry).submitted == 1

    # when the lab API goes down, a tick changes nothing and says why
    server.stop()
    report = step_once(handle, OneFilm(), registry)
    with StateStore.open(handle.db_path, readonly=True) as store:
        (attempt,) = store.attempts_for_task("synthesize")
        told = explain(handle, store, registry)

    assert attempt.status == AttemptStatus.WAITING_EXTERNAL
    assert any("cannot reach the lab API" in note and "will retry" in note for note in report.notes)
    (waiting,) = told.frontier
    assert waiting.waits_for.startswith(f"{server.url}/requests/{attempt.attempt_id} (request sent ")
    assert "the lab API is unreachable" in waiting.waits_for
    assert any("experiment.default: unreachable since" in note for note in told.notes)

    # then, once the lab is back and has answered, the run finishes
    with LabApiServer(lab_dir, LAB_TOKEN, port=port, log=lambda line: None):
        serve_lab(lab_dir)
        statuses = [step_once(handle, OneFilm(), registry).status.value for _ in range(3)]
    registry.close()
    assert statuses[-1] == "COMPLETED"
    assert json.loads((handle.root_path / "campaign_state.json").read_text())["film"]["thickness_nm"] > 0
