"""A task's attempts folder lists in time order, as with MatterStack 0.2.6: attempts are named
``YYYYMMDD_HHMMSS_<8 hex>``. A run the original's 0.2.5 wrote keeps its uuid4 attempt ids beside
the new ones, and ``attempts`` still lists by attempt index."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

from e2e_kit import LEGACY_RUNS, Project, copy_writable, ok

CHRONOLOGICAL = re.compile(r"\d{8}_\d{6}_[0-9a-f]{8}\Z")
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")

FLAKY = """
    from matterstack import Campaign, Task, Workflow

    class Flaky(Campaign):
        \"\"\"``flaky`` fails at once; ``steady`` keeps the run going meanwhile.\"\"\"

        def plan(self, state):
            if state is not None:
                return None
            return Workflow([Task(task_id="flaky", command="exit 3"), Task(task_id="steady", command="sleep 60")])

        def analyze(self, state, results):
            return {"done": True}

    def get_campaign():
        return Flaky()
"""


def listed(folder) -> list[str]:
    """``ls -1`` of ``folder``, as a person sees it."""
    return subprocess.run(["ls", "-1", str(folder)], capture_output=True, text=True, check=True,
                          env={"LC_ALL": "C"}).stdout.split()


def tsv_ids(project: Project, run_id: str, task_id: str) -> list[str]:
    """The attempt ids ``matterstack attempts --format tsv`` prints, in its order."""
    lines = ok(project.matterstack("attempts", run_id, task_id, "--format", "tsv")).stdout.splitlines()
    assert lines[0].split("\t")[:2] == ["attempt_id", "attempt_index"]
    return [line.split("\t")[0] for line in lines[1:]]


def failed_attempts(project: Project, run_id: str) -> int:
    return sum(a["status"] == "FAILED" for a in project.attempts(run_id, "flaky"))


def test_ls_of_a_task_attempts_folder_sorts_by_time_across_reruns(project):
    # given a run whose task fails at once
    project.add_workspace("flaky", FLAKY)
    run_id = project.init("flaky")
    project.step_until(run_id, lambda: failed_attempts(project, run_id) == 1)

    # when it is rerun five times, by separate commands, some within a second, some not
    for rerun in range(1, 6):
        if rerun % 2 == 0:
            time.sleep(1.1)
        ok(project.matterstack("rerun", run_id, "flaky", "--force"))
        project.step_until(run_id, lambda: failed_attempts(project, run_id) == rerun + 1)

    # then ls lists the attempt folders in the order they were made, which is the order
    # `attempts` prints (by attempt index), and each id starts with its creation second
    by_index = tsv_ids(project, run_id, "flaky")
    assert len(by_index) == 6 and all(CHRONOLOGICAL.match(attempt_id) for attempt_id in by_index)
    assert listed(project.run_dir(run_id) / "tasks" / "flaky" / "attempts") == by_index
    with project.db(run_id) as db:
        created = [row[0] for row in db.execute(
            "SELECT strftime('%Y%m%d_%H%M%S', created_at) FROM task_attempts WHERE task_id = 'flaky'"
            " ORDER BY attempt_index")]
    assert [attempt_id[:15] for attempt_id in by_index] == created
    assert len(set(created)) >= 3  # the pauses put reruns in different seconds


def test_a_0_2_5_run_keeps_its_uuid_attempts_and_lists_new_ones_by_index(tmp_path, installed_matterstack):
    # given a RUNNING run written by 0.2.5 (uuid4 attempt ids), whose failed task lacked an input
    run_id, task_id = "20261124_142443_89d0213d", "fit_forcefield"
    project = Project(tmp_path / "project", installed_matterstack)
    copy_writable(LEGACY_RUNS / "v3", project.workspaces)
    (old,) = tsv_ids(project, run_id, task_id)
    inputs = project.run_dir(run_id) / "inputs"
    inputs.mkdir(exist_ok=True)
    shutil.copy(project.run_dir("20261124_142415_359cfb40") / "inputs" / "torsion_scan.csv", inputs)

    # when the task is rerun and the new attempt runs to the end
    ok(project.matterstack("rerun", run_id, task_id, "--force"))
    project.step_until(run_id, lambda: project.attempts(run_id, task_id)[-1]["status"] == "COMPLETED")

    # then the old attempt keeps its uuid, the new one is chronological, `attempts` lists them
    # by index although their names sort the other way round, and both folders are there
    assert UUID4.match(old)
    assert tsv_ids(project, run_id, task_id)[0] == old
    new = tsv_ids(project, run_id, task_id)[1]
    assert CHRONOLOGICAL.match(new) and new < old
    assert listed(project.run_dir(run_id) / "tasks" / task_id / "attempts") == [new, old]
    assert (project.run_dir(run_id) / "tasks" / task_id / "attempts" / new / "n_dihedrals.txt").is_file()
