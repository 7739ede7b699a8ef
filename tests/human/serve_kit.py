"""The approvals page under test: ``matterstack human serve`` started as a user starts it, in a
project folder, and spoken to as a browser would (raw HTTP, paths sent exactly as written)."""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import textwrap
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from human_kit import MATTERSTACK

REVIEW_SCHEMA = {
    "type": "object",
    "required": ["temperature_K", "metals", "support"],
    "properties": {
        "temperature_K": {"type": "integer", "minimum": 300, "maximum": 900, "title": "Calcination temperature (K)"},
        "metals": {"type": "array", "items": {"enum": ["Pt", "Pd", "Ni"]}, "description": "the metals to make"},
        "support": {"enum": ["alumina", "silica"]},
        "dry_first": {"type": "boolean"},
    },
    "additionalProperties": False,
}

REVIEW_WORKSPACE = '''
    import json
    from matterstack import Campaign, GateTask, Workflow

    SCHEMA = {schema!r}
    INSTRUCTIONS = """Choose the **synthesis conditions** for the next batch.

    Read [the candidates](candidates.csv) first. <b>raw html stays text</b>
    """

    class Review(Campaign):
        def plan(self, state):
            if state:
                return None
            return Workflow([GateTask(task_id=task_id, message=INSTRUCTIONS, allow_failure=True,
                                      files={{"candidates.csv": "metal,score\\nPt,0.91\\nPd,0.88\\n",
                                              "report.html": "<script>document.title='ran'</script>"}},
                                      env={{"RESPONSE_SCHEMA": json.dumps(SCHEMA)}})
                             for task_id in {tasks!r}])

        def analyze(self, state, results):
            return {{"analyzed": {{task_id: results[task_id] for task_id in {tasks!r}}}}}

    def get_campaign():
        return Review()
'''


def add_review_workspace(project, tasks: tuple[str, ...] = ("choose_conditions",)) -> Path:
    """A workspace whose one iteration asks a person for typed synthesis conditions (an
    integer with bounds, a list of choices, a choice, a yes/no), with two files to review."""
    folder = project.workspaces / "review"
    folder.mkdir()
    (folder / "main.py").write_text(textwrap.dedent(REVIEW_WORKSPACE.format(schema=REVIEW_SCHEMA, tasks=list(tasks))))
    return folder


class ApprovalsServer:
    """``matterstack human serve --port 0`` running in ``project``'s folder until :meth:`stop`."""

    def __init__(self, project, *args: str, refresh_seconds: float = 0.5):
        command = [MATTERSTACK, "human", "serve", "--port", "0", "--refresh-seconds", str(refresh_seconds), *args]
        self.process = subprocess.Popen(command, cwd=project.folder, env=project.env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.banner = []
        while not self.banner or not self.banner[-1].startswith("Ctrl-C"):
            line = self.process.stdout.readline()
            if not line:
                self.stop()
                raise AssertionError(f"serve ended before it served: {''.join(self.banner)}{self.process.stderr.read()}")
            self.banner.append(line)
        found = re.search(r"(http://[^/\s]+/)(\?token=(\S+))?", "".join(self.banner))
        self.base, self.token = found.group(1), found.group(3)
        self.url = found.group(0)

    def stop(self) -> str:
        """Stop it as a service manager does (SIGTERM; a background process ignores Ctrl-C's
        SIGINT); return what it printed after its banner."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.stdout.read()

    def request(self, method: str, path: str, *, token: str | None = None, form: dict | None = None,
                headers: dict | None = None) -> tuple[int, dict, str]:
        """Send one request with ``path`` exactly as written, the session cookie holding
        ``token`` when given; return (status, headers, body text)."""
        parts = urlsplit(self.base)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        sent = dict(headers or {})
        if token is not None:
            sent["Cookie"] = f"{self.cookie_name()}={token}"
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
        connection.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text

    def cookie_name(self) -> str:
        """The cookie the printed URL sets (learnt by following it once)."""
        _, headers, _ = self.request("GET", "/?token=" + self.token) if self.token else (0, {}, "")
        return headers["set-cookie"].split("=", 1)[0]

    def csrf(self, page_path: str) -> str:
        """The CSRF field of the form on ``page_path``."""
        status, _, body = self.request("GET", page_path, token=self.token)
        assert status == 200, body
        return re.search(r'name="csrf" value="([^"]+)"', body).group(1)

    def state(self) -> dict:
        status, _, body = self.request("GET", "/state", token=self.token)
        assert status == 200, body
        return json.loads(body)
