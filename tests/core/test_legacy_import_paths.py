"""Code written for MatterStack 0.2.x imports from 0.2.x's module paths.

Each import runs in a fresh interpreter, as a workspace's ``main.py`` or a script would. Paths
with a counterpart give this MatterStack's objects and work on real runs (a copy of the 0.2.6
fixture under ``tests/fixtures/legacy-runs/v4``, and runs made here); paths with none raise
one ImportError line naming what replaces them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

V4 = Path(__file__).resolve().parents[1] / "fixtures" / "legacy-runs" / "v4"
RUNNING, COMPLETED = "20261207_021509_d1bee641", "20261207_021432_90261834"

ECHO_CAMPAIGN = textwrap.dedent("""
    from matterstack import Campaign, Task, Workflow

    class Echo(Campaign):
        def plan(self, state):
            if state is None:
                workflow = Workflow()
                workflow.add_task(Task(task_id="hello", command="echo hello > out.txt"))
                return workflow
            return None

        def analyze(self, state, results):
            return {"done": True}
""")


def with_echo_campaign(code: str) -> str:
    """``code`` run after the definition of ``Echo``, a campaign of one local task."""
    return ECHO_CAMPAIGN + textwrap.dedent(code)


def python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def printed_json(code: str, cwd: Path):
    result = python(code, cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def digests(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder whose ``workspaces/`` is a copy of the 0.2.6 fixture."""
    shutil.copytree(V4, tmp_path / "workspaces", ignore=shutil.ignore_patterns("expected", "README.md"))
    return tmp_path


KEPT_PATHS = {
    "from matterstack.orchestration import initialize_run, step_run":
        "initialize_run is matterstack.initialize_run and step_run is matterstack.step_run",
    "from matterstack.orchestration.run_lifecycle import initialize_run, step_run, run_until_completion, RunHandle":
        "all(o is getattr(matterstack, o.__name__) for o in (initialize_run, step_run, run_until_completion, RunHandle))",
    "from matterstack.orchestration.run_lifecycle import RunLifecycleError":
        "RunLifecycleError is matterstack.errors.MatterStackError",
    "from matterstack.orchestration.initialization import initialize_run, initialize_or_resume_run":
        "initialize_or_resume_run is matterstack.orchestration.run_lifecycle.initialize_or_resume_run",
    "from matterstack.orchestration.utilities import run_until_completion, list_active_runs":
        "list_active_runs is matterstack.orchestration.run_lifecycle.list_active_runs",
    "from matterstack.orchestration.step_execution import step_run": "step_run is matterstack.step_run",
    "from matterstack.core.run import RunHandle": "RunHandle is matterstack.RunHandle",
    "from matterstack.core import Campaign, Task, Workflow, GateTask, ExternalTask, RunHandle":
        "(Campaign, Task, RunHandle) == (matterstack.Campaign, matterstack.Task, matterstack.RunHandle)",
    "from matterstack.campaign import Campaign": "Campaign is matterstack.Campaign",
    "from matterstack.storage import SQLiteStateStore":
        "SQLiteStateStore is matterstack.orchestration.run_lifecycle.SQLiteStateStore",
    "from matterstack.core.operators import ExternalRunStatus":
        "ExternalRunStatus.FAILED_INIT == 'FAILED_INIT' and ExternalRunStatus.WAITING_EXTERNAL == 'WAITING_EXTERNAL'",
}


@pytest.mark.parametrize("statement", sorted(KEPT_PATHS))
def test_a_kept_0_2_x_import_gives_this_matterstacks_object(statement, tmp_path):
    check = KEPT_PATHS[statement]

    result = python(f"""
        {statement}
        import matterstack, matterstack.errors, matterstack.orchestration.run_lifecycle
        print({check})
    """, tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


GONE_PATHS = {
    "from matterstack.orchestration.api import run_workflow": ("matterstack.orchestration.api", "matterstack run"),
    "from matterstack.runtime.backends.local import LocalBackend": ("matterstack.runtime", "operators.yaml"),
    "from matterstack.runtime.backends.hpc import SlurmBackend, SSHConfig": ("matterstack.runtime", "matterstack-ops-slurm"),
    "from matterstack.runtime.operators.human import HumanOperator": ("matterstack.runtime", "matterstack-ops-human"),
    "from matterstack.config.profiles import ExecutionProfile": ("matterstack.config", "operators.yaml"),
    "from matterstack.config import load_profile": ("matterstack.config", "--profile"),
    "from matterstack.campaign.engine import Campaign": ("matterstack.campaign.engine", "get_campaign()"),
    "from matterstack.core.operators import Operator, ExternalRunHandle, OperatorResult":
        ("matterstack.core.operators.Operator", "matterstack.plugins.Operator"),
    "from matterstack.core.operators import OperatorResult": ("matterstack.core.operators.OperatorResult", "CollectResult"),
    "from matterstack.core.backend import ComputeBackend, JobState": ("matterstack.core.backend", "matterstack.plugins.ComputeBackend"),
    "from matterstack.core.run import RunHandle, RunMetadata": ("matterstack.core.run.RunMetadata", "get_run()"),
    "from matterstack.core.evidence import EvidenceBundle": ("matterstack.core.evidence", "export-evidence"),
    "from matterstack.storage.export import build_evidence_bundle": ("matterstack.storage.export", "export-evidence"),
    "from matterstack import Campaign, EvidenceBundle": ("matterstack.core.evidence", "bundle.json"),
    "from matterstack.core import Candidate, DesignSpace": ("matterstack.core.domain", "itertools.product"),
}


@pytest.mark.parametrize("statement", sorted(GONE_PATHS))
def test_a_0_2_x_import_with_no_counterpart_is_one_import_error_line_naming_the_replacement(statement, tmp_path):
    path, replacement = GONE_PATHS[statement]

    result = python(statement, tmp_path)

    last_line = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1
    assert last_line.startswith(f"ImportError: {path} was MatterStack 0.2.x's and is gone: "), last_line
    assert replacement in last_line
    assert "ModuleNotFoundError" not in result.stderr


def test_importing_the_0_2_x_packages_loads_nothing_until_a_name_is_used(tmp_path):
    loaded = printed_json("""
        import json, sys
        import matterstack.orchestration, matterstack.storage, matterstack.campaign, matterstack.core
        print(json.dumps(sorted(m for m in sys.modules if m.startswith(("matterstack.", "cattrs", "sqlite_utils")))))
    """, tmp_path)

    assert loaded == ["matterstack.campaign", "matterstack.core", "matterstack.lazy_names",
                      "matterstack.orchestration", "matterstack.storage"]


def test_list_active_runs_gives_the_running_0_2_6_run_and_writes_nothing(project):
    before = digests(project / "workspaces")

    handles = printed_json("""
        import json
        from matterstack.orchestration.run_lifecycle import list_active_runs
        print(json.dumps([[h.run_id, h.workspace_slug, str(h.root_path)] for h in list_active_runs()]))
    """, project)

    run_dir = project / "workspaces" / "battery_cells" / "runs" / RUNNING
    assert handles == [[RUNNING, "battery_cells", str(run_dir)]]
    assert digests(project / "workspaces") == before


def test_list_active_runs_finds_a_nested_workspace_and_leaves_out_ended_runs(tmp_path):
    handles = printed_json(with_echo_campaign("""
        import json
        from matterstack.orchestration.run_lifecycle import initialize_run, list_active_runs, run_until_completion
        pending = initialize_run("demos/echo", Echo())
        run_until_completion(initialize_run("echo", Echo()), Echo(), poll_interval=0.05)
        print(json.dumps([[h.run_id == pending.run_id, h.workspace_slug] for h in list_active_runs("workspaces")]))
    """), tmp_path)

    assert handles == [[True, "demos/echo"]]


def test_initialize_or_resume_run_resumes_the_newest_0_2_6_run_while_it_is_active(project):
    handle = printed_json("""
        import json, sys
        sys.path.insert(0, "workspaces/battery_cells")
        from main import get_campaign
        from matterstack.orchestration.run_lifecycle import initialize_or_resume_run
        h = initialize_or_resume_run("battery_cells", get_campaign())
        print(json.dumps([h.run_id, h.workspace_slug, str(h.root_path)]))
    """, project)

    assert handle == [RUNNING, "battery_cells", str(project / "workspaces" / "battery_cells" / "runs" / RUNNING)]
    assert sorted(p.name for p in (project / "workspaces" / "battery_cells" / "runs").iterdir()) == [COMPLETED, RUNNING]


def test_initialize_or_resume_run_starts_a_new_run_after_an_ended_one_unless_told_to_resume_always(tmp_path):
    ids = printed_json(with_echo_campaign("""
        import json
        from matterstack.orchestration.run_lifecycle import initialize_or_resume_run, run_until_completion
        first = initialize_or_resume_run("echo", Echo())
        status = run_until_completion(first, Echo(), poll_interval=0.05)
        again = initialize_or_resume_run("echo", Echo(), resume_always=True)
        second = initialize_or_resume_run("echo", Echo())
        print(json.dumps([f"{status}", again.run_id == first.run_id, second.run_id != first.run_id, second.run_id]))
    """), tmp_path)

    status, resumed_the_ended_run, started_a_new_one, second = ids
    assert (status, resumed_the_ended_run, started_a_new_one) == ("COMPLETED", True, True)
    assert (tmp_path / "workspaces" / "echo" / "runs" / second / "state.sqlite").is_file()


def test_initialize_or_resume_run_with_an_id_resumes_that_run_or_creates_it(project):
    found = printed_json(with_echo_campaign(f"""
        import json
        from matterstack.orchestration.run_lifecycle import initialize_or_resume_run
        kept = initialize_or_resume_run("battery_cells", Echo(), resume_run_id="{COMPLETED}")
        made = initialize_or_resume_run("echo", Echo(), resume_run_id="20270101_000000_abcdef12")
        print(json.dumps([kept.run_id, made.run_id]))
    """), project)

    assert found == [COMPLETED, "20270101_000000_abcdef12"]
    assert (project / "workspaces" / "echo" / "runs" / "20270101_000000_abcdef12" / "state.sqlite").is_file()


def test_run_lifecycle_error_catches_what_the_run_api_refuses(tmp_path):
    caught = printed_json(with_echo_campaign("""
        import json
        from matterstack.orchestration.run_lifecycle import RunLifecycleError, initialize_run
        initialize_run("echo", Echo(), run_id="20270101_000000_abcdef12")
        try:
            initialize_run("echo", Echo(), run_id="20270101_000000_abcdef12")
        except RunLifecycleError as exc:
            print(json.dumps(str(exc)))
    """), tmp_path)

    assert "run 20270101_000000_abcdef12 already exists" in caught


@pytest.mark.parametrize("run_id", [COMPLETED, RUNNING])
def test_sqlite_state_store_reads_a_0_2_6_run_as_0_2_x_scripts_did_and_writes_nothing(project, run_id):
    expected = json.loads((V4 / "expected" / f"{run_id}.json").read_text())
    before = digests(project / "workspaces")

    read = printed_json(f"""
        import json
        from matterstack.storage.state_store import SQLiteStateStore
        store = SQLiteStateStore("workspaces/battery_cells/runs/{run_id}/state.sqlite")
        tasks = store.get_tasks("{run_id}")
        current = {{t.task_id: store.get_current_attempt(t.task_id) for t in tasks}}
        print(json.dumps({{
            "status": store.get_run_status("{run_id}"),
            "reason": store.get_run_status_reason("{run_id}"),
            "handle": store.get_run("{run_id}").run_id,
            "other_run": [store.get_run_status("someone_else"), store.get_run("someone_else"),
                          store.get_tasks("someone_else")],
            "tasks": [{{
                "task_id": t.task_id,
                "status": store.get_task_status(t.task_id),
                "current_attempt_id": current[t.task_id].attempt_id if current[t.task_id] else None,
                "attempts": [[a.attempt_id, a.attempt_index, a.status, a.operator_type, a.external_id]
                             for a in store.list_attempts(t.task_id)],
            }} for t in tasks],
            "missing": [store.get_task_status("no_such_task"), store.get_attempt("no_such_attempt")],
        }}))
    """, project)

    assert (read["status"], read["reason"], read["handle"]) == (
        expected["run"]["status"], expected["run"]["status_reason"], run_id)
    assert read["other_run"] == [None, None, []]
    assert read["tasks"] == [{
        "task_id": task["task_id"],
        "status": task["status"],
        "current_attempt_id": task["current_attempt_id"],
        "attempts": [[a["attempt_id"], a["attempt_index"], a["status"], a["operator_type"], a["external_id"]]
                     for a in task["attempts"]],
    } for task in expected["tasks"]]
    assert read["missing"] == [None, None]
    assert digests(project / "workspaces") == before


def test_sqlite_state_store_refuses_a_write_naming_the_command_that_makes_it(project):
    result = python(f"""
        from matterstack.storage.state_store import SQLiteStateStore
        SQLiteStateStore("workspaces/battery_cells/runs/{RUNNING}/state.sqlite").set_run_status("{RUNNING}", "FAILED")
    """, project)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"matterstack.errors.StoreError: workspaces/battery_cells/runs/{RUNNING}/state.sqlite: "
        "SQLiteStateStore.set_run_status is not offered: runs change under their lock "
        "(fix: use `matterstack pause|resume|cancel|revive RUN`)")
