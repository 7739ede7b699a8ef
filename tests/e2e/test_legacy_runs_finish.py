"""Journey 6, to the end: every RUNNING run the original left (0.2.4 to 0.2.6, schemas 1–4)
is continued here until COMPLETED, answered the way a user of the original would answer it.

Each fixture's RUNNING run waits on a person and a lab, and has one failed task that needs an
input file the user had not supplied yet. The user supplies it and reruns the task, answers the
person's request with ``matterstack human respond`` (with the data the COMPLETED twin run was
given), drops the lab's result file where the request asks for it (the COMPLETED twin's), and
loops. Nothing in the fixture is edited by hand beyond what the original's users did.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from e2e_kit import LEGACY_RUNS, Project, copy_writable, ok

RUNS = {
    # version: (workspace, RUNNING run, COMPLETED twin, failed task, its missing input)
    "v1": ("alloy_screening", "20261124_142113_28d86a26", "20261124_142052_f5c6a49b", "fit_eos",
           "reference_eos.dat"),
    "v2": ("catalyst_loop", "20261124_142245_e5542ff0", "20261124_142216_9bef32b1", "fit_scaling",
           "scaling_reference.csv"),
    "v3": ("polymer_dft", "20261124_142443_89d0213d", "20261124_142415_359cfb40", "fit_forcefield", "torsion_scan.csv"),
    "v4": ("battery_cells", "20261207_021509_d1bee641", "20261207_021432_90261834", "fit_impedance",
           "eis_reference.csv"),
}


EXPECTED = sorted(LEGACY_RUNS.glob("v*/expected/*.json"))


@pytest.mark.parametrize("expected_file", EXPECTED, ids=lambda path: f"{path.parts[-3]}-{path.stem}")
def test_every_legacy_run_opens_steps_and_keeps_every_task_and_attempt(tmp_path, installed_matterstack,
                                                                       expected_file):
    # given a copy of the project holding one run the original wrote
    expected = json.loads(expected_file.read_text())
    run_id, version = expected["run_id"], expected_file.parts[-3]
    project = Project(tmp_path / "project", installed_matterstack)
    copy_writable(LEGACY_RUNS / version, project.workspaces)

    # when its user looks at it and steps it
    shown = ok(project.matterstack("status", run_id)).stdout
    ok(project.matterstack("step", run_id))

    # then it is shown with the status the original left, and no task or attempt is lost
    assert shown.startswith(f"Run {run_id}: {expected['run']['status']}")
    attempts = {a["attempt_id"]: a for a in project.attempts(run_id)}
    with project.db(run_id) as db:
        tasks = {row[0] for row in db.execute("SELECT task_id FROM tasks")}
    assert {t["task_id"] for t in expected["tasks"]} <= tasks
    for task in expected["tasks"]:
        for attempt in task.get("attempts", []):
            kept = attempts[attempt["attempt_id"]]
            assert (kept["task_id"], kept["attempt_index"]) == (task["task_id"], attempt["attempt_index"])
        if task.get("external_run"):
            assert task["task_id"] in {a["task_id"] for a in attempts.values()}


def answer_folder(project: Project, run_id: str, task_id: str) -> Path:
    """The folder of the task's current attempt (where its request and answer live)."""
    (row,) = [a for a in project.attempts(run_id, task_id) if a["status"] == "WAITING_EXTERNAL"]
    return project.run_dir(run_id) / row["relative_path"]


def twin_answer(project: Project, twin: str, task_id: str, name: str) -> Path:
    rows = [a for a in project.attempts(twin, task_id) if a["status"] == "COMPLETED"]
    return project.run_dir(twin) / rows[-1]["relative_path"] / name


def waiting(project: Project, run_id: str, operator: str) -> list[str]:
    return sorted({a["task_id"] for a in project.attempts(run_id)
                   if a["status"] == "WAITING_EXTERNAL" and (a["operator_key"] or "").startswith(operator)})


def answer_and_loop(tmp_path, installed_matterstack, version):
    """Do what the user of ``version``'s RUNNING run does; the project and the loop's result."""
    # given a copy of the project the original left, as its user has it
    workspace, run_id, twin, failed, missing = RUNS[version]
    project = Project(tmp_path / "project", installed_matterstack)
    copy_writable(LEGACY_RUNS / version, project.workspaces)
    ok(project.matterstack("status"))
    ok(project.matterstack("step", run_id))
    assert project.run_status(run_id) == "RUNNING"

    # when the user supplies the missing input and reruns the failed task,
    inputs = project.run_dir(run_id) / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    shutil.copy(project.run_dir(twin) / "inputs" / missing, inputs / missing)
    ok(project.matterstack("rerun", run_id, failed, "--force"))
    # gives a stub the original left (an ExternalTask with no operator) a real attempt, as
    # explain tells them to,
    stubs = [a["task_id"] for a in project.attempts(run_id)
             if a["status"] == "WAITING_EXTERNAL" and a["operator_key"] is None]
    for task_id in stubs:
        assert f"matterstack rerun {run_id} {task_id} --force" in ok(project.matterstack("explain", run_id)).stdout
        ok(project.matterstack("rerun", run_id, task_id, "--force"))
    ok(project.matterstack("step", run_id))
    # answers each person's request with the data the twin run was given,
    people = waiting(project, run_id, "human.")
    for task_id in people:
        given = json.loads(twin_answer(project, twin, task_id, "response.json").read_text())
        data = [f"{key}={json.dumps(value)}" for key, value in (given.get("data") or {}).items()]
        ok(project.matterstack("human", "respond", run_id, task_id, "--approve",
                               *(arg for item in data for arg in ("--data", item))))
    # drops the lab's result (and the files it names) where each lab request waits,
    labs = waiting(project, run_id, "experiment.")
    for task_id in labs:
        folder = answer_folder(project, run_id, task_id)
        if task_id in stubs:  # the twin run never asked for it: the lab writes its own answer
            (folder / "experiment_result.json").write_text('{"status": "COMPLETED", "data": {"mw_ok": true}}')
            continue
        result = twin_answer(project, twin, task_id, "experiment_result.json")
        for name in [result.name, *json.loads(result.read_text()).get("files", [])]:
            shutil.copy(result.parent / name, folder / name)
    # and loops
    looped = project.matterstack("loop", run_id, timeout=240)
    assert people and labs and (stubs == ["external_qc"]) == (version == "v3")
    return project, looped


@pytest.mark.parametrize("version", sorted(RUNS))
def test_a_running_legacy_run_is_answered_and_reaches_completed(tmp_path, installed_matterstack, version):
    workspace, run_id, twin, failed, missing = RUNS[version]

    project, looped = answer_and_loop(tmp_path, installed_matterstack, version)

    # then the run the original would have left RUNNING completes, keeping every earlier attempt
    assert looped.returncode == 0, looped.stdout + looped.stderr
    assert project.run_status(run_id) == "COMPLETED"
    assert [a["status"] for a in project.attempts(run_id, failed)] == ["FAILED", "COMPLETED"]
    assert (project.run_dir(run_id) / "campaign_state.json").is_file()
    copies = list(project.run_dir(run_id).glob("state.sqlite.0.2.x-v*.bak"))
    assert [c.name for c in copies] == [f"state.sqlite.0.2.x-v{version[1:]}.bak"]


def test_a_0_2_4_runs_new_jobs_reach_the_run_folder_and_other_tasks_through_dot_dot(tmp_path, installed_matterstack):
    # 0.2.4 ran each job in <run>/<task>/, and its campaign reads ../inputs/ and ../fit_eos/
    workspace, run_id, twin, failed, missing = RUNS["v1"]

    project, looped = answer_and_loop(tmp_path, installed_matterstack, "v1")

    # then the new jobs ran in the run's 0.2.4 view, where .. leads where it led in 0.2.4
    view = project.run_dir(run_id) / "jobs-0.2.4"
    (report,) = project.attempts(run_id, "final_report")
    assert report["relative_path"].startswith("jobs-0.2.4/final_report.")
    text = (project.run_dir(run_id) / report["relative_path"] / "report.txt").read_text()
    assert text.startswith('{"bulk_modulus_gpa"') and "freq_thz" in text
    fit_eos = project.attempts(run_id, "fit_eos")[-1]
    assert (view / "fit_eos").resolve() == (project.run_dir(run_id) / fit_eos["relative_path"]).resolve()
    assert (view / "phonons").resolve() == (project.run_dir(run_id) / "phonons").resolve()
    assert (view / "inputs" / missing).is_file()
