"""Journey 1: a newcomer runs the demo campaign with one command and reads the evidence."""

from __future__ import annotations

import json
import re
import shutil

import attrs
import pytest

from e2e_kit import EXAMPLES, Project, ok, sha256

RUN_FILES = {"state.sqlite", "state.sqlite-wal", "state.sqlite-shm", "run.lock", "campaign_state.json", "evidence",
             "tasks", ".matterstack-local", "iterations.jsonl"}


@attrs.frozen
class DemoRun:
    project: Project
    stdout: str
    run_id: str
    before: frozenset  # the project's files before the run

    @property
    def run_dir(self):
        return self.project.root / "examples" / "screening" / "runs" / self.run_id


@pytest.fixture(scope="module")
def demo(tmp_path_factory, installed_matterstack) -> DemoRun:
    """``matterstack run examples/screening`` in a project holding a copy of examples/."""
    project = Project(tmp_path_factory.mktemp("demo") / "project", installed_matterstack)
    shutil.copytree(EXAMPLES, project.root / "examples")
    before = frozenset(p.relative_to(project.root) for p in project.root.rglob("*"))
    result = ok(project.matterstack("run", "examples/screening", "--interval", "0.05"))
    return DemoRun(project, result.stdout, re.match(r"Run (\S+)", result.stdout).group(1), before)


def bundle_tasks(demo: DemoRun) -> dict[str, dict]:
    bundle = json.loads((demo.run_dir / "evidence" / "bundle.json").read_text())
    return {task["task_id"]: task for task in bundle["tasks"]}


def test_matterstack_run_of_the_demo_completes_and_prints_where_the_report_is(demo):
    lines = demo.stdout.splitlines()

    assert lines[0] == f"Run {demo.run_id}  (workspace examples/screening)"
    assert f"Run {demo.run_id} COMPLETED (plan returned None: the campaign is done)" in lines
    assert lines[-2:] == [f"HTML report: {demo.run_dir / 'evidence' / 'report.html'}",
                          f"Report: {demo.run_dir / 'evidence' / 'report.md'}"]
    assert (demo.run_dir / "evidence" / "report.md").is_file()
    assert demo.project.run_status(demo.run_id) == "COMPLETED"


def test_the_report_lists_every_attempt_and_the_run_status(demo):
    report = (demo.run_dir / "evidence" / "report.md").read_text()

    assert report.startswith(f"# Run {demo.run_id}")
    assert "status: **COMPLETED**" in report
    for task_id in bundle_tasks(demo):
        assert f"| {task_id} | 1 |" in report


def test_the_bundle_holds_every_attempt_with_its_key_and_the_hash_of_each_collected_file(demo):
    tasks = bundle_tasks(demo)

    assert len(tasks) == 11 and "rank" in tasks
    for task in tasks.values():
        (attempt,) = task["attempts"]
        assert attempt["operator_key"] == "local.default"
        assert attempt["artifact_path"] == f"tasks/{task['task_id']}/attempts/{attempt['attempt_id']}"
        assert attempt["files"], task["task_id"]
        for collected in attempt["files"]:
            path = demo.run_dir / collected["path"]
            assert path.parent == demo.run_dir / attempt["artifact_path"]
            assert collected["sha256"] == sha256(path)


def test_the_unphysical_candidates_failed_as_allowed_and_the_others_completed(demo):
    tasks = bundle_tasks(demo)
    failing = {"relax_og4", "relax_og7"}

    for task_id in failing:
        assert tasks[task_id]["status"] == "FAILED" and tasks[task_id]["allow_failure"]
        assert tasks[task_id]["attempts"][0]["reason"].startswith("exit code 3")
    assert {t["status"] for task_id, t in tasks.items() if task_id not in failing} == {"COMPLETED"}


def test_the_ranking_ranks_the_eight_clusters_that_relaxed(demo):
    (rank,) = bundle_tasks(demo)["rank"]["attempts"]

    ranking = (demo.run_dir / rank["artifact_path"] / "report.md").read_text()

    ranked = re.findall(r"^\| (\d+) \| (\w+) \|", ranking, flags=re.MULTILINE)
    assert [int(position) for position, _ in ranked] == list(range(1, 9))
    assert {name for _, name in ranked} == {f"{e}{n}" for e in ("Ne", "Ar", "Kr", "Xe") for n in (4, 7)}


def test_every_file_a_task_produced_is_in_its_attempt_folder(demo):
    tasks = bundle_tasks(demo)

    # the run folder holds the run's own files, and each task's files in its attempt folder
    assert {p.name for p in demo.run_dir.iterdir()} <= RUN_FILES
    assert {p.name for p in (demo.run_dir / "tasks").iterdir()} == set(tasks)
    for task_id, task in tasks.items():
        (attempt_dir,) = (demo.run_dir / "tasks" / task_id / "attempts").iterdir()
        assert attempt_dir.name == task["attempts"][0]["attempt_id"]
        assert {"stdout.log", "stderr.log", "exit_code"} <= {p.name for p in attempt_dir.iterdir()}
    assert list((demo.run_dir / "tasks" / "relax_ar4").glob("attempts/*/result.json"))

    # and nothing was written into the project beside the run (and the project's run index)
    after = {p.relative_to(demo.project.root) for p in demo.project.root.rglob("*")}
    new = {p for p in after - demo.before if p.parts[:3] != ("examples", "screening", "runs")}
    assert {p.as_posix() for p in new} == {".matterstack", ".matterstack/runs.jsonl"}
