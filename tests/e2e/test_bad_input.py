"""Bad input from the command line: one ``Error:`` line naming what, where and the fix,
exit code 2 (3 for a locked run), no traceback, and nothing recorded lost or half-written."""

from __future__ import annotations

import pytest

from e2e_kit import TWO_TASKS, LockHolder, assert_one_line_error, ok, row_counts, sha256

NO_GET_CAMPAIGN = """
    from matterstack import Campaign
"""

PLAN_RAISES = """
    from matterstack import Campaign

    class Broken(Campaign):
        def plan(self, state):
            raise RuntimeError("the candidate list is missing")

        def analyze(self, state, results):
            return state

    def get_campaign():
        return Broken()
"""


def one_workflow(*tasks: str) -> str:
    """A campaign whose first plan adds ``tasks`` (``Task(...)`` source) to one workflow."""
    adds = "\n".join(f"            wf.add_task({task})" for task in tasks)
    return f"""
    from matterstack import Campaign, Task, Workflow

    class OneWorkflow(Campaign):
        def plan(self, state):
            wf = Workflow()
{adds}
            return wf

        def analyze(self, state, results):
            return state

    def get_campaign():
        return OneWorkflow()
"""


CYCLE = one_workflow('Task(task_id="relax", command="true", dependencies={"score"})',
                     'Task(task_id="score", command="true", dependencies={"relax"})')
DUPLICATE = one_workflow('Task(task_id="relax", command="true")', 'Task(task_id="relax", command="false")')
UNKNOWN_DEPENDENCY = one_workflow('Task(task_id="score", command="true", dependencies={"relax"})')

SLOW_ANALYZE = """
    import time
    from pathlib import Path

    from matterstack import Campaign, Task, Workflow

    PROJECT = Path(__file__).resolve().parents[2]

    class SlowAnalyze(Campaign):
        def plan(self, state):
            if state is not None:
                return None
            wf = Workflow()
            wf.add_task(Task(task_id="only", command="true"))
            return wf

        def analyze(self, state, results):
            (PROJECT / "analyzing").write_text("")
            time.sleep(3)
            return {"analyzed": True}

    def get_campaign():
        return SlowAnalyze()
"""


def database_bytes(run_dir):
    """sha256 of the database and its write-ahead log: what a write would change."""
    return {name: sha256(run_dir / name) for name in ("state.sqlite", "state.sqlite-wal") if (run_dir / name).exists()}


@pytest.mark.parametrize(
    ("main_py", "words"),
    [
        pytest.param(None, ["workspaces/bad", "has no main.py", "fix: add a main.py"], id="no-main-py"),
        pytest.param(NO_GET_CAMPAIGN, ["bad/main.py", "get_campaign()", "fix:"], id="no-get-campaign"),
        pytest.param(PLAN_RAISES, ["bad/main.py", "RuntimeError: the candidate list is missing", "fix:"],
                     id="plan-raises"),
        pytest.param(CYCLE, ["bad/main.py", "dependency cycle: relax -> score -> relax", "fix:"], id="cycle"),
        pytest.param(DUPLICATE, ["bad/main.py", "duplicate task id 'relax'", "fix:"], id="duplicate-task-id"),
        pytest.param(UNKNOWN_DEPENDENCY, ["bad/main.py", "task 'score'", "unknown task 'relax'", "fix:"],
                     id="unknown-dependency"),
    ],
)
def test_init_of_a_bad_workspace_says_what_to_fix_and_leaves_no_run_behind(project, main_py, words):
    # given
    workspace = project.add_workspace("bad", main_py)

    # when
    result = project.matterstack("init", "bad")

    # then
    line = assert_one_line_error(result, *words)
    assert line.count("(fix:") == 1
    assert sorted(p.name for p in workspace.iterdir()) == ([] if main_py is None else ["main.py"])
    assert not (project.root / ".matterstack").exists()


def test_init_of_a_workspace_that_does_not_exist_names_where_it_looked(project):
    result = project.matterstack("init", "demos/missing")

    assert_one_line_error(result, "no workspace 'demos/missing'", str(project.workspaces), "fix:")


@pytest.mark.parametrize("command", [["status"], ["step"], ["attempts", "relax"], ["explain"], ["cancel"]],
                         ids=["status", "step", "attempts", "explain", "cancel"])
def test_a_run_id_that_does_not_exist_is_one_line_naming_it(project, command):
    project.add_workspace("demos/two", TWO_TASKS)

    result = project.matterstack(command[0], "20991231_235959_deadbeef", *command[1:])

    assert_one_line_error(result, "no run '20991231_235959_deadbeef'", "fix:")


def test_debug_shows_the_traceback_before_the_one_line(project):
    project.add_workspace("bad", PLAN_RAISES)

    result = project.matterstack("--debug", "init", "bad")

    assert result.returncode == 2
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert 'raise RuntimeError("the candidate list is missing")' in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: ")


@pytest.mark.parametrize("command", [["step"], ["loop", "--interval", "0.05"], ["rerun", "prepare", "--force"]],
                         ids=["step", "loop", "rerun"])
def test_a_run_locked_by_another_process_exits_3_and_changes_nothing(project, command):
    """``rerun`` and the other control commands first wait a few seconds for the lock."""
    # given a run whose lock another process holds
    project.add_workspace("demos/two", TWO_TASKS)
    run_id = project.init("demos/two")
    run_dir = project.run_dir(run_id)
    rows_before = row_counts(run_dir / "state.sqlite")  # (a reader makes the -wal file)
    bytes_before = database_bytes(run_dir)

    # when
    with LockHolder(run_dir):
        result = project.matterstack(command[0], run_id, *command[1:])

    # then
    assert_one_line_error(result, f"run {run_id} is being stepped by another process", "fix:", code=3)
    assert database_bytes(run_dir) == bytes_before
    assert row_counts(run_dir / "state.sqlite") == rows_before
    assert not (run_dir / "tasks").exists()


def test_a_second_step_while_a_slow_step_runs_exits_3(project):
    # given a step busy in a campaign whose analyze takes a while
    project.add_workspace("slow", SLOW_ANALYZE)
    run_id = project.init("slow")
    run_dir = project.run_dir(run_id)
    ok(project.matterstack("step", run_id))
    project.wait_for(lambda: list(run_dir.glob("tasks/only/attempts/*/exit_code")), what="the task to finish")
    slow = project.start("step", run_id)
    project.wait_for(lambda: (project.root / "analyzing").exists(), what="analyze to start")
    before = row_counts(run_dir / "state.sqlite")

    # when
    result = project.matterstack("step", run_id)

    # then
    assert_one_line_error(result, "being stepped by another process", code=3)
    assert row_counts(run_dir / "state.sqlite") == before
    slow.communicate(timeout=60)
    assert slow.returncode == 0 and project.run_status(run_id) == "COMPLETED"
