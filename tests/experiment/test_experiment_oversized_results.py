"""A lab answer over the limit for answer files (``MATTERSTACK_MAX_ANSWER_MB``) is never
read or parsed: through a shared folder and through the lab API the attempt keeps waiting
with the reason, the lab's file is kept, and the answer is read once the limit is raised; a
lab API answering more than the limit is an outage, not a failure."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from experiment_kit import attempt_in, film_task, http_operator

from matterstack.plugins import AttemptStatus, TransientOperatorError

LIMIT = "MATTERSTACK_MAX_ANSWER_MB"
TOO_LARGE = "is 0.2 MB, over the 0.05 MB limit for answer files; it was not read"


def large_result(token: str) -> str:
    return json.dumps({"token": token, "status": "COMPLETED", "data": {"note": "x" * 200_000}, "files": []})


def submitted(operator, attempt):
    operator.prepare(attempt)
    return operator.submit(attempt)


def test_a_result_over_the_limit_in_a_shared_folder_is_kept_unread_until_the_limit_is_raised(
        shared, run_dir, lab_dir, monkeypatch):
    # given a request in a shared exchange folder, answered with a 0.2 MB result, and a 0.05 MB limit
    attempt = attempt_in(run_dir, film_task(), "tok-1")
    submitted(shared, attempt)
    result = large_result("tok-1")
    (lab_dir / "tok-1" / "experiment_result.json").write_text(result)
    monkeypatch.setenv(LIMIT, "0.05")

    # when it is polled
    seen = shared.poll([attempt])["tok-1"]
    described = shared.describe_wait(attempt)

    # then the attempt waits, saying why and how to raise the limit, and the answer is kept
    assert seen.status == AttemptStatus.WAITING_EXTERNAL
    assert TOO_LARGE in seen.reason and f"set {LIMIT}=1 (megabytes)" in seen.reason
    assert TOO_LARGE in described
    assert (lab_dir / "tok-1" / "experiment_result.json").read_text() == result

    # when the limit is raised, the next poll reads it
    monkeypatch.setenv(LIMIT, "1")
    assert shared.poll([attempt])["tok-1"].status == AttemptStatus.COMPLETED


def test_a_result_over_the_lab_api_limit_leaves_the_request_waiting_with_the_reason(
        over_http, run_dir, lab_dir, monkeypatch):
    attempt = attempt_in(run_dir, film_task(), "tok-1")
    submitted(over_http, attempt)
    (lab_dir / "tok-1" / "experiment_result.json").write_text(large_result("tok-1"))
    monkeypatch.setenv(LIMIT, "0.05")

    seen = over_http.poll([attempt])["tok-1"]
    described = over_http.describe_wait(attempt)

    assert seen.status == AttemptStatus.WAITING_EXTERNAL
    assert f"experiment_result.json {TOO_LARGE}" in seen.reason and f"experiment_result.json {TOO_LARGE}" in described
    monkeypatch.setenv(LIMIT, "1")
    assert over_http.poll([attempt])["tok-1"].status == AttemptStatus.COMPLETED


class _LargeAnswers(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"requests": {}, "padding": "x" * 200_000}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.path.startswith("/requests?"):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def verbose_lab():
    """A lab API on 127.0.0.1 whose every answer is 0.2 MB (with and without Content-Length)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LargeAnswers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("path", "expected"), [
    ("/requests?token=tok-1", f"the lab API's answer {TOO_LARGE} (fix: set {LIMIT}=1 (megabytes) where matterstack runs,"
                              f" or make the file smaller)"),
    ("/requests/tok-1", f"the lab API's answer is larger than the 0.05 MB limit for answer files; it was not read"
                        f" (fix: set {LIMIT}=0.1 (megabytes) where matterstack runs, or make the file smaller)"),
], ids=["with-content-length", "without"])
def test_a_lab_api_answer_over_the_limit_is_an_outage_that_names_the_limit(
        run_dir, verbose_lab, lab_token, monkeypatch, path, expected):
    operator = http_operator(run_dir, verbose_lab)
    monkeypatch.setenv(LIMIT, "0.05")

    with pytest.raises(TransientOperatorError) as raised:
        operator.client._call("GET", path)

    assert raised.value.one_line().endswith(expected)
