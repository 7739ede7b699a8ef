"""Helpers of the ``human``/``manual_hpc`` tests: attempts made in a temporary run directory,
and the ``matterstack`` command run in a project folder as a user does."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

from installs import clean_env, run

from matterstack.plugins import AttemptContext, OperatorContext
from matterstack.store import StateStore

REPO = Path(__file__).resolve().parents[2]
CATALYST = REPO / "examples" / "catalyst"
LEGACY = REPO / "tests" / "fixtures" / "legacy-runs"
MATTERSTACK = str(Path(sys.executable).parent / "matterstack")
RUN_ID = "20261124_120000_0000abcd"

APPROVAL_SCHEMA = {
    "type": "object",
    "required": ["keep"],
    "properties": {"keep": {"type": ["array", "string"], "items": {"type": "string"}}},
    "additionalProperties": False,
}

GATE_WORKSPACE = """
    import json
    from matterstack import Campaign, GateTask, Workflow

    SCHEMA = {schema!r}
    TASKS = {tasks!r}

    class OneQuestion(Campaign):
        def plan(self, state):
            if state:
                return None
            return Workflow([GateTask(task_id=task_id, message="Keep which?", allow_failure=True,
                                      env={{"RESPONSE_SCHEMA": json.dumps(SCHEMA)}}) for task_id in TASKS])

        def analyze(self, state, results):
            return {{task_id: results[task_id] for task_id in TASKS}}

    def get_campaign():
        return OneQuestion()
"""


def attempt_in(run_dir: Path, task, attempt_id: str = "a1", **changes) -> AttemptContext:
    """An attempt of ``task`` whose directory is ``tasks/<task>/attempts/<attempt_id>``."""
    values = dict(attempt_id=attempt_id, task=task, run_id=RUN_ID, run_dir=run_dir,
                  attempt_dir=run_dir / "tasks" / task.task_id / "attempts" / attempt_id,
                  operator_key="human.default")
    values.update(changes)
    return AttemptContext(**values)


def operator_context(run_dir: Path) -> OperatorContext:
    """What a factory gets for a run in ``run_dir`` (no plugin host needed)."""
    return OperatorContext(run_id=RUN_ID, run_dir=run_dir, workspace_slug="demo", host=None)


def write_response(attempt: AttemptContext, document) -> None:
    """Write ``response.json`` by hand: a dict as JSON, text or bytes as they are."""
    path = attempt.attempt_dir / "response.json"
    if isinstance(document, bytes):
        path.write_bytes(document)
    else:
        path.write_text(document if isinstance(document, str) else json.dumps(document))


class Project:
    """A project folder with ``workspaces/``, driven through the ``matterstack`` command
    with every installed plugin distribution, as a user runs it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.workspaces = folder / "workspaces"
        self.workspaces.mkdir(parents=True, exist_ok=True)
        self.env = clean_env()

    def add_catalyst(self) -> Path:
        return Path(shutil.copytree(CATALYST, self.workspaces / "catalyst"))

    def add_gate_workspace(self, tasks: tuple[str, ...] | list[str] = ("approve",)) -> Path:
        """A workspace whose one iteration asks a person one question per task id."""
        folder = self.workspaces / "gate"
        folder.mkdir()
        source = GATE_WORKSPACE.format(schema=APPROVAL_SCHEMA, tasks=list(tasks))
        (folder / "main.py").write_text(textwrap.dedent(source))
        return folder

    def add_legacy(self, version: str) -> None:
        for workspace in (LEGACY / version).iterdir():
            if workspace.is_dir() and workspace.name != "expected":
                shutil.copytree(workspace, self.workspaces / workspace.name)

    def ms(self, *args: str):
        """Run ``matterstack <args>`` in the project folder."""
        return run([MATTERSTACK, *args], env=self.env, cwd=self.folder)

    def ok(self, *args: str) -> str:
        """Run ``matterstack <args>``; fail the test unless it exits 0; return its stdout."""
        result = self.ms(*args)
        assert result.returncode == 0, f"matterstack {' '.join(args)}: {result.stdout}{result.stderr}"
        return result.stdout

    def init(self, workspace: str) -> str:
        out = self.ok("init", workspace)
        return out.split()[1]

    def run_dir(self, run_id: str) -> Path:
        (found,) = self.workspaces.glob(f"*/runs/{run_id}")
        return found

    def attempts(self, run_id: str, task: str) -> list[dict]:
        """A task's attempts as recorded in the run's database (read in-process: faster than
        one more subprocess per check)."""
        with StateStore.open(self.run_dir(run_id) / "state.sqlite", readonly=True) as store:
            return [{"status": a.status.value, "reason": a.status_reason, "path": a.relative_path}
                    for a in store.attempts_for_task(task)]

    def attempt_dir(self, run_id: str, task: str) -> Path:
        return self.run_dir(run_id) / self.attempts(run_id, task)[-1]["path"]

    def campaign_state(self, run_id: str) -> dict:
        return json.loads((self.run_dir(run_id) / "campaign_state.json").read_text())
