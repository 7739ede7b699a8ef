"""Driving a run with init, step and loop, and reading it with status, attempts, explain,
export-evidence and monitor, from anywhere in the project."""

from __future__ import annotations

import json
import textwrap
import time

import pytest

from e2e_kit import TWO_TASKS, Project, ok
from installs import clean_env


@pytest.fixture(scope="module")
def finished(tmp_path_factory, installed_matterstack):
    """A project with one run of TWO_TASKS looped to the end."""
    project = Project(tmp_path_factory.mktemp("finished") / "project", installed_matterstack)
    project.add_workspace("demos/two", TWO_TASKS)
    run_id = project.init("demos/two")
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))
    return project, run_id


def test_init_records_the_first_iteration_and_step_submits_what_is_ready(project):
    # given
    project.add_workspace("demos/two", TWO_TASKS)

    # when
    created = ok(project.matterstack("init", "demos/two"))
    run_id = created.stdout.split()[1]
    stepped = ok(project.matterstack("step", run_id))
    status = json.loads(ok(project.matterstack("status", run_id, "--json")).stdout)

    # then
    run_dir = project.workspaces / "demos" / "two" / "runs" / run_id
    assert created.stdout == f"Run {run_id} created in {run_dir}\n"
    assert stepped.stdout.startswith(f"Run {run_id}: RUNNING (submitted 1, finished 0, planned 0)")
    assert status["run_id"] == run_id and status["status"] == "RUNNING"
    assert status["workspace_slug"] == "demos/two"
    assert status["tasks"] == {"PENDING": 1, "WAITING_EXTERNAL": 1}
    assert status["active_attempts"] == 1


def test_explain_says_what_each_unfinished_task_waits_for(project):
    # given a run whose first task was submitted and whose second waits for it
    project.add_workspace("demos/two", TWO_TASKS)
    run_id = project.init("demos/two")
    ok(project.matterstack("step", run_id))

    # when
    text = ok(project.matterstack("explain", run_id)).stdout
    frontier = json.loads(ok(project.matterstack("explain", run_id, "--json")).stdout)

    # then
    (prepare,) = project.attempts(run_id, "prepare")
    waits = {entry["task_id"]: entry for entry in frontier["frontier"]}
    assert frontier["run_id"] == run_id and frontier["status"] == "RUNNING"
    assert set(waits) == {"prepare", "report"}
    assert waits["prepare"]["operator_key"] == "local.default"
    assert f"job {prepare['attempt_id']}" in waits["prepare"]["waits_for"]
    assert waits["report"]["status"] == "PENDING" and "prepare" in waits["report"]["waits_for"]
    assert "report [PENDING] waits for dependencies: prepare" in text


WIDE = """
    from matterstack import Campaign, Task, Workflow


    class Wide(Campaign):
        def plan(self, state):
            if state is not None:
                return None
            workflow = Workflow()
            workflow.add_task(Task(task_id="first", image="", command="true"))
            for n in range(COUNT):
                workflow.add_task(Task(task_id=f"t{n:04d}", image="", command="true"DEPENDENCIES))
            return workflow

        def analyze(self, state, results):
            return state


    def get_campaign():
        return Wide()
"""


def wide(count: int, after_first: bool) -> str:
    """A campaign of task ``first`` and ``count`` others, each depending on it if ``after_first``."""
    return WIDE.replace("COUNT", str(count)).replace("DEPENDENCIES", ', dependencies={"first"}' if after_first else "")


def test_explain_of_a_big_run_describes_the_first_thousand_tasks_and_counts_the_rest(project):
    # given a run of 1,201 unfinished tasks: one ready, 1,200 waiting for it
    project.add_workspace("wide", wide(1200, after_first=True))
    run_id = project.init("wide")

    # when
    lines = ok(project.matterstack("explain", run_id)).stdout.splitlines()
    every = json.loads(ok(project.matterstack("explain", run_id, "--json")).stdout)

    # then the text describes 1,000 of them and counts the others by what they wait for
    described = [line for line in lines if " waits for " in line]
    assert len(described) == 1000
    assert described[0] == "  first [PENDING] waits for ready: starts on the next tick on local.default"
    assert described[1] == "  t0000 [PENDING] waits for dependencies: first (PENDING)"
    assert lines[1001] == (f"  ... and 201 more unfinished tasks (201 waiting for dependencies): "
                           f"`matterstack explain {run_id} --json` describes every one")
    # and --json describes every one
    assert len(every["frontier"]) == 1201 and every["more"] == {}
    assert every["frontier"][-1] == {"task_id": "t1199", "status": "PENDING",
                                     "waits_for": "dependencies: first (PENDING)", "operator_key": None, "since": None}


def test_explain_counts_the_tasks_it_does_not_describe_that_wait_to_start(project):
    # given a run of 1,002 tasks that depend on nothing, none started yet
    project.add_workspace("flat", wide(1001, after_first=False))
    run_id = project.init("flat")

    # when
    last = ok(project.matterstack("explain", run_id)).stdout.splitlines()[1001]

    # then
    assert last.startswith("  ... and 2 more unfinished tasks (2 waiting to start): ")


def test_loop_ticks_a_run_to_completion_and_says_how_it_ended(project):
    # given
    project.add_workspace("demos/two", TWO_TASKS)
    run_id = project.init("demos/two")

    # when
    result = ok(project.matterstack("loop", run_id, "--interval", "0.05"))

    # then
    assert result.stdout.splitlines()[-1] == f"Run {run_id} COMPLETED (plan returned None: the campaign is done)"
    assert "2/2 tasks" in result.stderr.splitlines()[-1]
    assert project.run_status(run_id) == "COMPLETED"
    run_dir = project.run_dir(run_id)
    assert json.loads((run_dir / "campaign_state.json").read_text()) == {"finished": ["prepare", "report"]}
    assert list((run_dir / "tasks" / "report" / "attempts").glob("*/report.txt"))


def test_status_shows_the_run_and_its_task_counts(finished):
    project, run_id = finished

    text = ok(project.matterstack("status", run_id)).stdout
    as_json = json.loads(ok(project.matterstack("status", run_id, "--json")).stdout)

    assert text.splitlines()[0] == f"Run {run_id}: COMPLETED (plan returned None: the campaign is done)"
    assert "tasks: 2 COMPLETED" in text
    assert as_json["status"] == "COMPLETED" and as_json["tasks"] == {"COMPLETED": 2}
    assert as_json["active_attempts"] == 0


def test_attempts_lists_each_attempt_with_its_operator_key(finished):
    project, run_id = finished

    text = ok(project.matterstack("attempts", run_id, "prepare")).stdout
    (attempt,) = json.loads(ok(project.matterstack("attempts", run_id, "prepare", "--json")).stdout)

    assert attempt["attempt_index"] == 1 and attempt["status"] == "COMPLETED"
    assert attempt["operator_key"] == "local.default"
    assert attempt["path"] == f"tasks/prepare/attempts/{attempt['attempt_id']}"
    assert attempt["ended_at"] is not None
    assert text.startswith(f"#1 {attempt['attempt_id']}  COMPLETED")
    assert "local.default" in text


def test_attempts_of_an_unknown_task_is_an_error(finished):
    project, run_id = finished

    result = project.matterstack("attempts", run_id, "no_such_task")

    assert result.returncode == 2 and result.stderr.startswith("Error: ") and "no_such_task" in result.stderr
    assert "Traceback" not in result.stderr


def test_explain_of_a_finished_run_says_nothing_waits(finished):
    project, run_id = finished

    text = ok(project.matterstack("explain", run_id)).stdout
    as_json = json.loads(ok(project.matterstack("explain", run_id, "--json")).stdout)

    assert "Nothing is waiting" in text
    assert as_json["frontier"] == [] and as_json["status"] == "COMPLETED"


def test_export_evidence_twice_writes_identical_files(finished):
    project, run_id = finished
    evidence = project.run_dir(run_id) / "evidence"

    first = ok(project.matterstack("export-evidence", run_id))
    files = {name: (evidence / name).read_bytes() for name in ("bundle.json", "report.md", "report.html")}
    ok(project.matterstack("export-evidence", run_id))

    assert first.stdout == (f"Evidence written: {evidence / 'bundle.json'}, {evidence / 'report.md'} "
                            f"and {evidence / 'report.html'}\n")
    assert {name: (evidence / name).read_bytes() for name in files} == files
    bundle = json.loads(files["bundle.json"])
    assert [t["task_id"] for t in bundle["tasks"]] == ["prepare", "report"]
    assert f"# Run {run_id}" in files["report.md"].decode()


def test_monitor_once_prints_one_view_and_exits(finished):
    project, run_id = finished

    one = ok(project.matterstack("monitor", run_id, "--once")).stdout
    every = ok(project.matterstack("monitor", "--once")).stdout

    assert one.startswith("COMPLETED") and run_id in one and "2/2 tasks" in one
    assert len(one.splitlines()) == 1
    assert every == one


def test_a_run_is_found_by_id_from_a_subfolder_of_the_project(finished):
    project, run_id = finished
    subfolder = project.root / "notes" / "week1"
    subfolder.mkdir(parents=True, exist_ok=True)

    result = ok(project.matterstack("status", run_id, "--json", cwd=subfolder))

    assert json.loads(result.stdout)["run_id"] == run_id


def test_a_run_of_a_workspace_given_by_path_is_found_from_a_subfolder_of_the_project(
        tmp_path, installed_matterstack):
    # given a project without a workspaces/ folder, its workspace named by path (the examples/ layout)
    project = Project(tmp_path / "project", installed_matterstack)
    project.workspaces.rmdir()
    (project.root / "examples" / "two").mkdir(parents=True)
    (project.root / "examples" / "two" / "main.py").write_text(textwrap.dedent(TWO_TASKS))
    run_id = project.init("examples/two")
    elsewhere = project.root / "notes" / "week1"
    elsewhere.mkdir(parents=True)

    # when
    result = ok(project.matterstack("status", run_id, "--json", cwd=elsewhere))

    # then
    assert json.loads(result.stdout)["run_id"] == run_id


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_run_is_found_from_outside_the_project_with_the_workspaces_root(finished, tmp_path, how):
    project, run_id = finished
    if how == "option":
        result = project.matterstack("attempts", run_id, "report", "--json",
                                     "--workspaces-root", str(project.workspaces), cwd=tmp_path)
    else:
        result = project.matterstack("attempts", run_id, "report", "--json", cwd=tmp_path,
                                     env=clean_env(MATTERSTACK_WORKSPACES_ROOT=str(project.workspaces)))

    (attempt,) = json.loads(ok(result).stdout)
    assert attempt["status"] == "COMPLETED"


def test_outside_the_project_without_a_root_the_run_is_not_found(finished, tmp_path):
    project, run_id = finished

    result = project.matterstack("status", run_id, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.startswith("Error: ") and f"no run '{run_id}'" in result.stderr
    assert "--workspaces-root" in result.stderr


ONE_FAILURE_ALLOWED = """
    from matterstack import Campaign, Task, Workflow

    class OneAllowed(Campaign):
        def plan(self, state):
            if state is not None:
                return None
            wf = Workflow()
            wf.add_task(Task(task_id="screen_Og", command="exit 1", allow_failure=True))
            wf.add_task(Task(task_id="screen_Si", command="true"))
            return wf

        def analyze(self, state, results):
            return {}

    def get_campaign():
        return OneAllowed()
"""


def test_progress_says_how_many_failures_the_run_allows(project):
    # given a run where one task fails but allows failure
    project.add_workspace("demos/allowed", ONE_FAILURE_ALLOWED)
    run_id = project.init("demos/allowed")

    # when it is looped to the end and then looked at with monitor
    looped = ok(project.matterstack("loop", run_id, "--interval", "0.05"))
    monitored = ok(project.matterstack("monitor", run_id, "--once")).stdout

    # then both say the failure is an allowed one, and the run completed despite it
    assert "FAILED 1 (1 allowed)" in looped.stderr.splitlines()[-1]
    assert monitored.startswith("COMPLETED") and "COMPLETED 1  FAILED 1 (1 allowed)" in monitored


CHAIN_OF_30 = """\
from matterstack import Campaign, Task, Workflow


class Chain(Campaign):
    def plan(self, state):
        if state is not None:
            return None
        workflow = Workflow()
        for i in range(30):
            workflow.add_task(Task(task_id=f"t{i}", command="true", dependencies={f"t{i - 1}"} if i else set()))
        return workflow

    def analyze(self, state, results):
        return {"done": len(results)}


def get_campaign():
    return Chain()
"""


def test_the_progress_line_is_drawn_at_most_ten_times_a_second_and_once_at_the_end(project):
    # given a run of 30 short tasks one after the other, each a tick or two of work
    project.add_workspace("demos/chain", CHAIN_OF_30)
    run_id = project.init("demos/chain")

    # when it is looped to the end, its output going to a file (a line per change drawn)
    started = time.monotonic()
    looped = ok(project.matterstack("loop", run_id, "--interval", "0.05"))
    seconds = time.monotonic() - started

    # then the log holds a line per tenth of a second at most, not one per task, and the
    # last line is the finished run
    lines = [line for line in looped.stderr.splitlines() if line.startswith(run_id)]
    assert 1 <= len(lines) <= seconds / 0.1 + 2, looped.stderr
    assert "30/30 tasks  COMPLETED 30" in lines[-1]
