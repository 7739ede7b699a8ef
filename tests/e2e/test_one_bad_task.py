"""One bad task never wedges a run (issue 16, defects 2 and 10): names the file system cannot
take are refused when the workflow is planned, in one line; whatever else goes wrong while
one attempt is prepared fails that attempt (FAILED_INIT, with the reason) or, on a full disk,
leaves it for the next tick; either way the tick goes on and the other tasks are collected."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from e2e_kit import assert_one_line_error, ok, read_db
from small_disk import resize, small_disk


def first_plan(*tasks: str, setup: str = "") -> str:
    """A campaign whose first plan is ``Workflow([tasks])`` (``Task(...)`` source) and whose
    second ends the run."""
    return f"""
    from pathlib import Path
    from matterstack import Campaign, Task, Workflow, FileFromPath
{setup}
    class First(Campaign):
        def plan(self, state):
            if state is not None:
                return None
            return Workflow([{", ".join(tasks)}])

        def analyze(self, state, results):
            return {{"tasks": sorted(results)}}

    def get_campaign():
        return First()
"""


LONG_TASK_ID = first_plan('Task(task_id="x" * 300, command="true")')
FILE_AND_FOLDER = first_plan('Task(task_id="keys", command="true", files={"a": "1", "a/b": "2"})')
LONG_FILE_NAME = first_plan('Task(task_id="long", command="true", files={"in/" + "n" * 256: "1"})')
PLAN_RETURNS_A_LIST = """
    from matterstack import Campaign, Task

    class ListPlan(Campaign):
        def plan(self, state):
            return [Task(task_id="a", command="true")]

        def analyze(self, state, results):
            return state

    def get_campaign():
        return ListPlan()
"""


@pytest.mark.parametrize(
    ("main_py", "words"),
    [
        pytest.param(LONG_TASK_ID, ["task 'xxx", "...", "task_id is 300 bytes long", "at most 255", "fix:"],
                     id="task-id-over-255-bytes"),
        pytest.param(FILE_AND_FOLDER, ["task 'keys'", "file 'a' is also the folder of file 'a/b'", "fix:"],
                     id="file-key-parent-of-another"),
        pytest.param(LONG_FILE_NAME, ["task 'long'", "a name part of 256 bytes", "fix:"],
                     id="file-name-part-over-255-bytes"),
        pytest.param(PLAN_RETURNS_A_LIST, ["plan() returned a list, not a Workflow", "fix: return Workflow("],
                     id="plan-returns-a-list"),
    ],
)
def test_a_plan_the_file_system_cannot_hold_is_refused_at_init_in_one_line(project, main_py, words):
    # given a workspace whose first plan names what no folder can hold, or is no Workflow
    workspace = project.add_workspace("bad", main_py)

    # when
    result = project.matterstack("init", "bad")

    # then one line, exit 2, and no run behind
    assert_one_line_error(result, "bad/main.py", *words)
    assert not (workspace / "runs").exists()


def test_a_later_plan_with_a_task_id_over_255_bytes_is_a_campaign_error_not_a_wedged_run(project):
    # given a run whose second plan names a task id no folder can hold
    project.add_workspace("later", """
        from matterstack import Campaign, Task, Workflow

        class Later(Campaign):
            def plan(self, state):
                if state is None:
                    return Workflow([Task(task_id="first", command="true")])
                return Workflow([Task(task_id="y" * 256, command="true")])

            def analyze(self, state, results):
                return {"seen": sorted(results)}

        def get_campaign():
            return Later()
    """)
    run_id = project.init("later")

    # when the run is stepped past its first iteration
    project.step_until(run_id, lambda: project.attempts(run_id) and project.attempts(run_id)[0]["status"] == "COMPLETED")
    result = ok(project.matterstack("step", run_id))

    # then the refusal is a note of the campaign's error, one line, and the run is still RUNNING
    assert "task_id is 256 bytes long" in result.stdout and "Traceback" not in result.stdout + result.stderr
    assert project.run_status(run_id) == "RUNNING"


def test_an_attempt_whose_preparation_fails_is_failed_init_and_the_other_tasks_are_still_collected(project):
    # given a run of a task whose input path is too long for the file system as a whole (each
    # part fits), and a task that is fine
    deep_key = "/".join(["d" * 250] * 20) + "/input.txt"
    project.add_workspace("deep", first_plan(
        f'Task(task_id="deep", command="true", files={{"{deep_key}": "1"}}, allow_failure=True)',
        'Task(task_id="fine", command="echo fine > out.txt")'))
    run_id = project.init("deep")

    # when the run is stepped
    first = project.matterstack("step", run_id)

    # then the step went on: the deep task's attempt failed with the reason, the fine one ran
    ok(first)
    assert "Traceback" not in first.stdout + first.stderr
    (deep,) = project.attempts(run_id, "deep")
    assert deep["status"] == "FAILED_INIT"
    assert deep["status_reason"].startswith("preparing it failed: OSError: File name too long")
    project.step_until(run_id, lambda: project.run_status(run_id) == "COMPLETED")
    (fine,) = project.attempts(run_id, "fine")
    assert fine["status"] == "COMPLETED"


def test_a_run_planned_before_the_check_with_a_task_id_over_255_bytes_fails_that_task_only(project):
    # given a run whose database already holds a task id no folder can hold (recorded by a
    # version that did not check it), beside a task that is fine
    project.add_workspace("two", first_plan('Task(task_id="fine", command="echo fine > out.txt")'))
    run_id = project.init("two")
    with read_db(project.run_dir(run_id) / "state.sqlite") as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(tasks)")]
    long_id = "z" * 300
    subprocess.run(["python3", "-c", (
        "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
        "row = db.execute('SELECT * FROM tasks WHERE task_id = ?', ('fine',)).fetchone(); "
        f"cols = {columns!r}; values = dict(zip(cols, row)); values['task_id'] = sys.argv[2]; "
        "db.execute(f\"INSERT INTO tasks ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})\", "
        "[values[c] for c in cols]); db.commit()"),
        str(project.run_dir(run_id) / "state.sqlite"), long_id], check=True)

    # when the run is stepped
    first = project.matterstack("step", run_id)

    # then the long task's attempt failed with the reason, without a traceback, and the fine
    # task was still collected (the run then ends FAILED for the long one, as for any failed task)
    assert first.returncode in (0, 1) and "Traceback" not in first.stdout + first.stderr, first.stderr
    (long_attempt,) = project.attempts(run_id, long_id)
    assert long_attempt["status"] == "FAILED_INIT"
    assert "File name too long" in long_attempt["status_reason"]
    finished = project.matterstack("loop", run_id, "--interval", "0.05")
    assert finished.returncode == 1 and project.run_status(run_id) == "FAILED", finished.stderr
    assert project.attempts(run_id, "fine")[0]["status"] == "COMPLETED"


def test_a_full_disk_while_staging_inputs_leaves_the_attempt_for_the_next_tick(tmp_path, installed_matterstack):
    from e2e_kit import Project, kill_jobs

    with small_disk(tmp_path / "disk", "2m") as disk:
        # given a run on a 2 MB disk, one task staging a 3 MB input and one small task
        big_input = tmp_path / "big.bin"
        big_input.write_bytes(b"\1" * 3_000_000)
        project = Project(disk / "project", installed_matterstack)
        project.add_workspace("big", first_plan(
            f'Task(task_id="big", command="wc -c < input.bin > size.txt", '
            f'files={{"input.bin": FileFromPath({str(big_input)!r})}})',
            'Task(task_id="small", command="echo small > out.txt")'))
        run_id = project.init("big")
        try:
            # when the run is stepped while its disk is too small for the input
            first = project.matterstack("step", run_id)

            # then the step says so in a note, leaves the big attempt for later, and goes on
            ok(first)
            assert "big: OSError: No space left on device" in first.stdout
            assert "left for the next tick (fix: free space on the disk of" in first.stdout
            (big,) = project.attempts(run_id, "big")
            assert big["status"] == "CREATED"
            project.step_until(run_id, lambda: project.attempts(run_id, "small")[0]["status"] == "COMPLETED")
            with project.db(run_id) as db:
                notes = [row[0] for row in db.execute("SELECT text FROM run_notes")]
            assert len([n for n in notes if "No space left on device" in n]) == 1

            # and once there is space, the same attempt is prepared, runs and the run completes
            resize(disk, "16m")
            project.step_until(run_id, lambda: project.run_status(run_id) == "COMPLETED")
            (big,) = project.attempts(run_id, "big")
            assert big["status"] == "COMPLETED"
            attempt_dir = project.run_dir(run_id) / big["relative_path"]
            assert (attempt_dir / "size.txt").read_text().strip() == "3000000"
        finally:
            kill_jobs(project.root)


def test_an_input_too_big_for_the_disk_never_keeps_the_tasks_prepared_beside_it_from_starting(tmp_path, installed_matterstack):
    from e2e_kit import Project, kill_jobs

    with small_disk(tmp_path / "disk", "2m") as disk:
        # given a run on a 2 MB disk: one task staging a 3 MB input beside eight small ones,
        # which the local instance prepares at the same time
        big_input = tmp_path / "big.bin"
        big_input.write_bytes(b"\1" * 3_000_000)
        project = Project(disk / "project", installed_matterstack)
        project.add_workspace("big", first_plan(
            f'Task(task_id="big", command="true", files={{"input.bin": FileFromPath({str(big_input)!r})}})',
            *(f'Task(task_id="small{i}", command="echo ok > out.txt", files={{"in.txt": "{i}" * 20_000}})'
              for i in range(8))))
        run_id = project.init("big")
        try:
            # when the run is stepped once
            first = project.matterstack("step", run_id)

            # then only the big task waits for space; every small one was started
            ok(first)
            assert "  note: big: OSError: No space left on device" in first.stdout
            statuses = {f"small{i}": project.attempts(run_id, f"small{i}")[0]["status"] for i in range(8)}
            assert "CREATED" not in statuses.values(), statuses
            assert project.attempts(run_id, "big")[0]["status"] == "CREATED"
        finally:
            kill_jobs(project.root)


def test_two_inputs_that_fit_the_disk_one_at_a_time_but_not_together_start_one_per_tick(tmp_path, installed_matterstack):
    from e2e_kit import Project, kill_jobs

    with small_disk(tmp_path / "disk", "3m") as disk:
        # given a run on a 3 MB disk whose two tasks each stage a 1.3 MB input, which the
        # local instance prepares at the same time
        project = Project(disk / "project", installed_matterstack)
        sources = []
        for name in ("a", "b"):
            source = tmp_path / f"{name}.bin"
            source.write_bytes(b"\1" * 1_300_000)
            sources.append(f'Task(task_id="{name}", command="true", files={{"input.bin": FileFromPath({str(source)!r})}})')
        project.add_workspace("pair", first_plan(*sources))
        run_id = project.init("pair")
        filler = disk / "filler"
        filler.write_bytes(b"\0" * (shutil.disk_usage(disk).free - 2_000_000))
        try:
            # when the run is stepped once
            ok(project.matterstack("step", run_id))

            # then one of them started and the other waits for space (never both waiting)
            statuses = sorted(project.attempts(run_id, name)[0]["status"] for name in ("a", "b"))
            assert statuses[0] == "CREATED" and statuses[1] != "CREATED", statuses
        finally:
            kill_jobs(project.root)
