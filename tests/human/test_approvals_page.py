"""``matterstack human serve`` keeps everyone without its token out, refuses forms that do not
come from its own page, and serves only the files of a request's own attempt folder; spoken to
over raw HTTP, against a real server process (the browser flows are in
test_approvals_page_browser.py)."""

from __future__ import annotations

import json
import os
import re
import socket

import pytest
from serve_kit import ApprovalsServer, add_review_workspace

TASK = "choose_conditions"
GOOD_ANSWER = {"decision": "approve", "name": "Ada", "field.temperature_K": "600", "field.metals": ['"Pt"'],
               "field.support": '"silica"'}


@pytest.fixture
def waiting(project):
    """A project whose review run waits for a person, and its server (stopped afterwards)."""
    add_review_workspace(project)
    run_id = project.init("review")
    project.ok("step", run_id)
    server = ApprovalsServer(project)
    yield project, run_id, server
    server.stop()


def page_of(run_id: str) -> str:
    return f"/r/{run_id}/{TASK}/"


def test_every_page_file_and_answer_needs_the_token(waiting):
    project, run_id, server = waiting
    answer_path = project.attempt_dir(run_id, TASK) / "response.json"
    csrf = server.csrf(page_of(run_id))

    for path in ("/", page_of(run_id), page_of(run_id) + "candidates.csv", "/state"):
        for token in (None, "not-the-token"):
            status, _, body = server.request("GET", path, token=token)
            assert status == 401, (path, token)
            assert "synthesis conditions" not in body and "metal,score" not in body and '"fingerprint"' not in body
    assert server.request("GET", "/?token=not-the-token")[0] == 401
    status, _, _ = server.request("POST", page_of(run_id), form={**GOOD_ANSWER, "csrf": csrf})
    assert status == 401 and not answer_path.exists()

    # the printed URL signs in: a cookie, and the token gone from the address
    status, headers, _ = server.request("GET", "/?token=" + server.token)
    assert status == 303 and headers["location"] == "/"
    assert "HttpOnly" in headers["set-cookie"] and "SameSite=Strict" in headers["set-cookie"]
    status, _, body = server.request("GET", "/", token=server.token)
    assert status == 200 and TASK in body


def test_an_answer_without_the_pages_csrf_field_or_from_another_site_is_refused(waiting):
    project, run_id, server = waiting
    answer_path = project.attempt_dir(run_id, TASK) / "response.json"
    csrf = server.csrf(page_of(run_id))

    for form, headers in (
        (GOOD_ANSWER, {}),
        ({**GOOD_ANSWER, "csrf": "0" * len(csrf)}, {}),
        ({**GOOD_ANSWER, "csrf": csrf}, {"Origin": "http://evil.example"}),
    ):
        status, _, body = server.request("POST", page_of(run_id), token=server.token, form=form, headers=headers)
        assert status == 403, body
        assert not answer_path.exists()

    status, _, _ = server.request("POST", page_of(run_id), token=server.token, form={**GOOD_ANSWER, "csrf": csrf},
                                  headers={"Origin": server.base.rstrip("/")})
    assert status == 303
    assert json.loads(answer_path.read_text())["responded_by"] == "Ada"


def test_only_the_files_of_the_requests_own_folder_are_served(waiting, tmp_path):
    project, run_id, server = waiting
    attempt_dir = project.attempt_dir(run_id, TASK)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the page")
    os.symlink(secret, attempt_dir / "link-out.txt")
    (attempt_dir / ".hidden.txt").write_text("hidden")
    page = page_of(run_id)

    status, headers, body = server.request("GET", page + "candidates.csv", token=server.token)
    assert status == 200 and body.startswith("metal,score")
    assert headers["content-security-policy"] == "sandbox"
    status, headers, body = server.request("GET", page + "report.html", token=server.token)
    assert status == 200 and headers["content-type"].startswith("text/plain")  # shown, never run

    refused = [page + "link-out.txt", page + ".hidden.txt", page + "manifest.json",
               page + "../../../state.sqlite", page + "%2e%2e/%2e%2e/%2e%2e/state.sqlite",
               page + "..%2f..%2f..%2fstate.sqlite", page + "/etc/passwd", page + "%2fetc%2fpasswd",
               f"/r/..%2f..%2f{run_id}/{TASK}/candidates.csv", f"/r/{run_id}/propose/candidates.csv"]
    for path in refused:
        status, _, body = server.request("GET", path, token=server.token)
        assert status == 404, path
        assert "not for the page" not in body and "root:" not in body and "SQLite" not in body


def test_instructions_are_markdown_without_raw_html_and_link_into_the_requests_folder(waiting):
    _, run_id, server = waiting

    status, headers, body = server.request("GET", "/", token=server.token)

    assert status == 200
    assert "<strong>synthesis conditions</strong>" in body
    assert "&lt;b&gt;raw html stays text&lt;/b&gt;" in body
    assert f'href="{page_of(run_id)}candidates.csv"' in body
    assert "script-src 'nonce-" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"


def test_a_password_file_replaces_the_printed_token(project, tmp_path):
    add_review_workspace(project)
    password = tmp_path / "password"
    password.write_text("correct horse battery staple\n")
    server = ApprovalsServer(project, "--password-file", str(password))
    try:
        assert server.token is None and "sign in with the password of --password-file" in "".join(server.banner)
        assert server.banner[0] == f"Approvals page for the project in {project.folder.resolve()}:\n"
        status, _, body = server.request("POST", "/login", form={"password": "wrong", "next": "/"})
        assert status == 401
        status, headers, _ = server.request("POST", "/login", form={"password": "correct horse battery staple",
                                                                     "next": "//evil.example/"})
        assert status == 303 and headers["location"] == "/"
        cookie = headers["set-cookie"].split(";")[0]
        status, _, body = server.request("GET", "/", headers={"Cookie": cookie})
        assert status == 200 and "No request waits for a person" in body
    finally:
        server.stop()

    password.write_text("short\n")
    result = project.ms("human", "serve", "--password-file", str(password))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "fewer than 12" in result.stderr


def test_a_port_in_use_is_one_line_and_another_host_is_said_to_need_tls(project):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = project.ms("human", "serve", "--port", str(taken.getsockname()[1]))
    assert result.returncode == 2 and re.search(r"port \d+ on 127.0.0.1 is in use .*--port 0", result.stderr)

    server = ApprovalsServer(project, "--host", "0.0.0.0")
    try:
        assert "not only on this machine" in "".join(server.banner) and "TLS" in "".join(server.banner)
    finally:
        assert "stopped" in server.stop()
