"""A person in the loop, through the real ``matterstack`` command in subprocesses: the
catalyst example from init to COMPLETED, and every way an answer can go wrong."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest


def wait_for_request(project, run_id: str, task: str) -> dict:
    """Tick the run until ``task`` waits for a person; return its ``human list --json`` entry."""
    for _ in range(10):
        project.ok("loop", run_id, "--max-ticks", "30", "--interval", "0.05")
        for request in json.loads(project.ok("human", "list", "--json")):
            if request["task_id"] == task:
                return request
    pytest.fail(f"{task} never waited for a person")


def test_catalyst_campaign_waits_for_approval_and_hands_it_to_analyze(project):
    # given the catalyst example, ticked until the shortlist waits for a person
    project.add_catalyst()
    run_id = project.init("catalyst")
    pending = wait_for_request(project, run_id, "approve_shortlist")

    # then the person finds the request and reads it, and explain says which file since when
    listed = project.ok("human", "list")
    assert listed.startswith("approve_shortlist - waiting ") and f"run {run_id} (human.default)" in listed
    assert pending["waited_seconds"] >= 0 and pending["operator_key"] == "human.default"
    shown = project.ok("human", "show", run_id, "approve_shortlist")
    assert "The volcano shortlist is" in shown
    assert "keep (required): a list or a string" in shown
    assert f"Answer in: {pending['attempt_dir']}/response.json" in shown
    (waiting,) = json.loads(project.ok("explain", run_id, "--json"))["frontier"]
    assert waiting["waits_for"].startswith(
        f"response.json in tasks/approve_shortlist/attempts/{pending['attempt_id']} (answer with ")
    assert " (for " in waiting["waits_for"] and waiting["since"] == pending["waiting_since"]

    # when a typo is answered, it is refused on the spot and nothing is written
    typo = project.ms("human", "respond", run_id, "approve_shortlist", "--approve", "--data", "kep=Pt,Pd")
    assert typo.returncode == 2
    assert "data.keep: required field is missing" in typo.stderr and "did you mean 'keep'" in typo.stderr
    assert not (project.run_dir(run_id) / pending["attempt_dir"] / "response.json").exists()

    # when the person approves, the loop finishes the campaign with the approved metals only
    project.ok("human", "respond", run_id, "approve_shortlist", "--approve", "--data", "keep=Pt,Pd")
    assert f"Run {run_id} COMPLETED" in project.ok("loop", run_id, "--interval", "0.05")
    state = project.campaign_state(run_id)
    assert state["approval"] == {"keep": "Pt,Pd"} and state["approved"] == ["Pt", "Pd"]
    assert sorted(state["refined"]) == ["Pd", "Pt"]
    assert project.ok("human", "list").strip() == "No request waits for a person."


def test_a_rejection_with_a_file_fails_the_task_with_the_persons_reason(project, tmp_path):
    project.add_gate_workspace()
    run_id = project.init("gate")
    project.ms("step", run_id)
    notes = tmp_path / "notes.txt"
    notes.write_text("Ir is too rare\n")

    project.ok("human", "respond", run_id, "approve", "--reject", "--message", "too costly", "--file", str(notes))
    folder = project.attempt_dir(run_id, "approve")
    response = json.loads((folder / "response.json").read_text())
    project.ms("step", run_id)

    assert (response["status"], response["error"], response["files"]) == ("FAILED", "too costly", ["notes.txt"])
    assert (folder / "notes.txt").read_text() == "Ir is too rare\n"
    (attempt,) = project.attempts(run_id, "approve")
    assert (attempt["status"], attempt["reason"]) == ("FAILED", "the person answered FAILED: too costly")
    assert project.campaign_state(run_id)["approve"]["status"] == "FAILED"


BAD_RESPONSES = {
    "malformed": ('{"status": "COMPLETED", "data": {"keep": "Pt"', "invalid response.json: not valid JSON"),
    "lower_case": ('{"status": "completed", "data": {"keep": "Pt"}}',
                   'status: "completed" is not one of COMPLETED, FAILED, WAITING (write it exactly, in upper case)'),
    "schema": ('{"status": "COMPLETED", "data": {"keep": 7}}', "data.keep: expected a list or a string, found an integer"),
    "outside": ('{"status": "COMPLETED", "data": {"keep": "Pt"}, "files": ["../../../../state.sqlite"]}',
                'files[0]: "../../../../state.sqlite" is outside the attempt directory'),
}


def test_hand_written_invalid_responses_fail_their_attempts_with_the_message(project):
    # given four requests waiting, each answered by hand with a different mistake
    project.add_gate_workspace(tasks=list(BAD_RESPONSES))
    run_id = project.init("gate")
    project.ms("step", run_id)
    for task, (written, _) in BAD_RESPONSES.items():
        (project.attempt_dir(run_id, task) / "response.json").write_text(written)

    # when the next tick reads them
    project.ms("step", run_id)

    # then each attempt FAILED with its validation message, and cannot be answered any more
    for task, (_, message) in BAD_RESPONSES.items():
        (attempt,) = project.attempts(run_id, task)
        assert attempt["status"] == "FAILED" and message in attempt["reason"], attempt
    refused = project.ms("human", "respond", run_id, "schema", "--approve", "--data", "keep=Pt")
    assert refused.returncode == 2
    assert "attempt #1 is FAILED" in refused.stderr and "not waiting for an answer" in refused.stderr


def test_respond_is_refused_before_the_request_exists_and_after_it_is_answered(project):
    project.add_gate_workspace()
    run_id = project.init("gate")

    early = project.ms("human", "respond", run_id, "approve", "--approve", "--data", "keep=Pt")
    project.ms("step", run_id)
    both = project.ms("human", "respond", run_id, "approve", "--approve", "--reject")
    project.ok("human", "respond", run_id, "approve", "--approve", "--data", 'keep=["Pt", "Pd"]')
    again = project.ms("human", "respond", run_id, "approve", "--approve", "--data", "keep=Pt")

    assert early.returncode == 2 and "task approve is PENDING and has not asked anyone yet" in early.stderr
    assert both.returncode == 2 and "give exactly one of --approve and --reject" in both.stderr
    assert again.returncode == 2 and "already answered" in again.stderr
    response = json.loads((project.attempt_dir(run_id, "approve") / "response.json").read_text())
    assert response["data"] == {"keep": ["Pt", "Pd"]}


LEGACY_WAITING = [
    ("v1", "20261124_142113_28d86a26", "approve_synthesis", "operators/human/f8333332-601f-4467-9dc0-4af43a641862"),
    ("v2", "20261124_142245_e5542ff0", "approve_batch", "operators/human/b820228c-57f7-48fd-9545-dcafe780659e"),
    ("v3", "20261124_142443_89d0213d", "approve_scaleup",
     "tasks/approve_scaleup/attempts/90155bd2-8d08-4202-815c-0c8ab4569dfb"),
]


def test_legacy_human_attempts_without_response_stay_waiting_then_take_an_answer(project):
    # given the RUNNING runs written by MatterStack 0.2.4, 0.2.5 and 0.2.7, approvals unanswered
    for version, *_ in LEGACY_WAITING:
        project.add_legacy(version)

    # then human list finds the three requests, oldest first
    listed = [(r["run_id"], r["task_id"]) for r in json.loads(project.ok("human", "list", "--json"))]
    assert listed == [(run_id, task) for _, run_id, task, _ in LEGACY_WAITING]

    # when the 0.2.5 and 0.2.7 runs are stepped, their approvals keep waiting where 0.2.x put them
    for _, run_id, task, folder in LEGACY_WAITING[1:]:
        project.ms("step", run_id)
        assert f"{task} [WAITING_EXTERNAL] waits for response.json in {folder} (answer with" in project.ok("explain", run_id)

    # when the person answers the 0.2.7 one, the next step completes it with the data
    _, run_id, task, folder = LEGACY_WAITING[-1]
    project.ok("human", "respond", run_id, task, "--approve", "--data", "approved=true", "--data", "batch_kg=5")
    project.ms("step", run_id)
    (attempt,) = project.attempts(run_id, task)
    assert (attempt["status"], attempt["path"]) == ("COMPLETED", folder)


BUNDLE_WORKSPACE = """
    from matterstack import Campaign, Task, Workflow

    class ByHand(Campaign):
        def plan(self, state):
            if state:
                return None
            return Workflow([Task(task_id="relax", command="echo -5.4 > energy.txt",
                                  operator_key="manual_hpc.default")])

        def analyze(self, state, results):
            return {"files": results["relax"]["files"]}

    def get_campaign():
        return ByHand()
"""


def test_a_job_bundle_to_run_by_hand_is_listed_shown_and_answered_by_its_results(project):
    # given a run whose one task is a job bundle on manual_hpc.default, made by one step
    (project.workspaces / "byhand").mkdir()
    (project.workspaces / "byhand" / "main.py").write_text(textwrap.dedent(BUNDLE_WORKSPACE))
    run_id = project.init("byhand")
    project.ok("step", run_id)
    bundle = project.attempt_dir(run_id, "relax")

    # then the person's list has it, saying what to run and what to bring back
    listed = project.ok("human", "list")
    assert listed.startswith("relax - waiting ") and f"run {run_id} (manual_hpc.default): job bundle: run job.sh" in listed
    assert "(`echo -5.4 > energy.txt`), bring back output/ then status.json" in listed
    (entry,) = json.loads(project.ok("human", "list", "--json"))
    assert entry["kind"] == "manual_hpc" and entry["attempt_dir"] == str(bundle)
    # and show prints the bundle's instructions and where the results go
    shown = project.ok("human", "show", run_id, "relax")
    assert shown.startswith(f"Run {run_id}, task relax: job bundle, attempt #1 on manual_hpc.default, WAITING_EXTERNAL")
    assert f"Bundle: {bundle}" in shown and "# Manual HPC job: relax" in shown
    assert "Answer by copying output/ and then status.json back into the bundle" in shown

    # when the person tries to answer it like a question, then it is refused in one line
    refused = project.ms("human", "respond", run_id, "relax", "--approve")
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "task relax is a job bundle on manual_hpc.default" in refused.stderr
    assert f"copy output/ and then status.json into {bundle}" in refused.stderr
    assert not (bundle / "response.json").exists()

    # when the job is run by hand in its bundle, then the next loop completes the run with its
    # results, and nothing waits for a person any more
    subprocess.run(["sh", "job.sh"], cwd=bundle, check=True, capture_output=True)
    assert f"Run {run_id} COMPLETED" in project.ok("loop", run_id, "--interval", "0.05")
    assert project.campaign_state(run_id) == {"files": {"energy.txt": str(bundle / "output" / "energy.txt")}}
    assert (bundle / "output" / "energy.txt").read_text() == "-5.4\n"
    assert project.ok("human", "list").strip() == "No request waits for a person."


def test_a_0_2_6_request_is_listed_with_the_instructions_the_task_gave(project):
    # given the RUNNING run 0.2.6 wrote, whose approval carries files["instructions.md"]
    project.add_legacy("v4")

    # when a person lists what waits for them
    (request,) = json.loads(project.ok("human", "list", "--json"))
    text = project.ok("human", "list")

    # then the request reads with the task's own words, not "(no instructions)"
    assert (request["task_id"], request["instructions"]) == (
        "approve_pilot", "Approve a 20-cell pilot line run for the top-ranked cathode.")
    assert "(no instructions)" not in text
