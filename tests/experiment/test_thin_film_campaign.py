"""The thin-film example through the real ``matterstack`` command, as a site runs it: the lab
agent answers over a file exchange and over HTTP; ``explain`` says which file or endpoint the
run waits for and since when; the evidence bundle hashes every request and result file.
And runs written by MatterStack 0.2.x keep their instrument requests waiting."""

from __future__ import annotations

import hashlib
import json

import pytest
from experiment_kit import (
    LEGACY,
    MATTERSTACK,
    SIMULATED,
    AgentProcess,
    Project,
    agent_env,
    wait_until,
)

from installs import run

SYNTHESES = ("synthesize_film_a", "synthesize_film_b")
LAB_FILES = {"experiment_request.json", "experiment_result.json", "recipe.txt", "thin_film_profile.csv"}
RUNNING_RUNS = {"v1": ("20261124_142113_28d86a26", "xrd_measure"),
                "v2": ("20261124_142245_e5542ff0", "tem_imaging"),
                "v3": ("20261124_142443_89d0213d", "dsc_measure")}


def wait_until_the_lab_is_asked(project: Project, run_id: str) -> dict:
    """Wait until both syntheses' requests are with the lab; return their attempts by task."""
    def asked():
        attempts = {task: project.attempts(run_id, task) for task in SYNTHESES}
        if all(found and found[-1].status.value in ("WAITING_EXTERNAL", "RUNNING") for found in attempts.values()):
            return {task: found[-1] for task, found in attempts.items()}
        return None

    return wait_until(asked, timeout=60, interval=0.05)


def frontier(project: Project, run_id: str) -> dict:
    return {w["task_id"]: w for w in json.loads(project.ok("explain", run_id, "--json"))["frontier"]}


def assert_lab_files_in_evidence(project: Project, run_id: str) -> None:
    project.ok("export-evidence", run_id)
    run_dir = project.run_dir(run_id)
    bundle = json.loads((run_dir / "evidence" / "bundle.json").read_text())
    assert bundle["run"]["status"] == "COMPLETED"
    tasks = {t["task_id"]: t for t in bundle["tasks"]}
    for task in SYNTHESES:
        (attempt,) = tasks[task]["attempts"]
        assert attempt["operator_key"] == "experiment.default" and attempt["status"] == "COMPLETED"
        assert {f["name"] for f in attempt["files"]} == LAB_FILES
        for entry in attempt["files"]:
            assert entry["path"] == f"{attempt['artifact_path']}/{entry['name']}"
            assert entry["sha256"] == hashlib.sha256((run_dir / entry["path"]).read_bytes()).hexdigest()


def assert_compared(project: Project, run_id: str) -> None:
    state = json.loads((project.run_dir(run_id) / "campaign_state.json").read_text())
    for sample in ("film-a", "film-b"):
        assert state["measured"][sample]["status"] == "COMPLETED"
        assert state["comparison"][sample]["measured"] is True
        assert state["comparison"][sample]["thickness_nm"]["predicted"] > 0


def test_thin_film_campaign_completes_with_the_agent_on_the_runs_folder(project):
    # given the example, looping until both syntheses wait for the lab
    project.add_thin_film()
    run_id = project.init("thin_film")
    loop = project.loop_in_background(run_id)
    try:
        attempts = wait_until_the_lab_is_asked(project, run_id)

        # then explain names the result file each one waits for, and since when
        waits = frontier(project, run_id)
        for task, attempt in attempts.items():
            assert waits[task]["waits_for"].startswith(
                f"experiment_result.json in tasks/{task}/attempts/{attempt.attempt_id} (request sent "
                f"{attempt.operator_data['requested_at']}; no lab agent has claimed it yet) (for ")
            assert waits[task]["since"] == attempt.submitted_at.isoformat()

        # when the lab's agent answers from the workspace's runs folder
        agent = run([MATTERSTACK, "experiment", "agent", "--exchange-dir", str(project.run_dir(run_id).parent),
                     "--driver", f"{SIMULATED}:thin_film", "--once"], env=project.env)
        assert agent.returncode == 0 and "stopped: 2 request(s) answered" in agent.stdout

        # then the loop completes the run
        assert loop.wait(timeout=60) == 0
    finally:
        loop.kill()
    assert project.status(run_id) == "COMPLETED"
    assert_compared(project, run_id)
    assert_lab_files_in_evidence(project, run_id)


def test_thin_film_campaign_completes_over_the_lab_http_api(tmp_path):
    # given a lab agent serving the HTTP API, its driver held until the test lets it go
    token = "lab-token-5d1c"
    gate = tmp_path / "go"
    lab = tmp_path / "lab"
    lab.mkdir()
    agent = AgentProcess(lab, "counting_driver:counted", http=True,
                         env=agent_env(tmp_path, LAB_TOKEN=token, DRIVER_GATE=str(gate)))
    project = Project(tmp_path / "project", LAB_TOKEN=token)
    project.add_thin_film()
    wiring = project.folder / "operators.yaml"
    wiring.write_text("operators:\n  local.default: {kind: local}\n  experiment.default:\n    kind: experiment\n"
                      f"    api: {{base_url: '{agent.url}', token_env: LAB_TOKEN}}\n")
    loop = None
    try:
        run_id = project.ok("init", "thin_film", "--operators-config", str(wiring)).split()[1]
        loop = project.loop_in_background(run_id)
        attempts = wait_until_the_lab_is_asked(project, run_id)

        # then explain names each request's endpoint and what the lab says of it
        waits = frontier(project, run_id)
        for task, attempt in attempts.items():
            assert waits[task]["waits_for"].startswith(
                f"{agent.url}/requests/{attempt.attempt_id} (request sent {attempt.operator_data['requested_at']}; ")
            assert waits[task]["waits_for"].split("; ")[1].split(")")[0] in (
                "lab state PENDING", "lab state CLAIMED", "the lab reports RUNNING")

        # when the lab goes ahead, the loop completes the run
        gate.touch()
        assert loop.wait(timeout=60) == 0
    finally:
        if loop is not None:
            loop.kill()
        output = agent.stop()

    assert project.status(run_id) == "COMPLETED"
    assert_compared(project, run_id)
    assert_lab_files_in_evidence(project, run_id)
    assert sorted(p.name for p in lab.iterdir()) == sorted(a.attempt_id for a in attempts.values())
    assert len((tmp_path / "driver.log").read_text().split()) == 2, output
    assert not [p for p in project.folder.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]


@pytest.mark.parametrize("version", sorted(RUNNING_RUNS))
def test_a_legacy_running_run_keeps_its_instrument_request_waiting(tmp_path, version):
    run_id, task = RUNNING_RUNS[version]
    project = Project(tmp_path / "project", plugins=None)
    project.add_legacy(version)
    (before,) = project.attempts(run_id, task)
    request = project.run_dir(run_id) / before.relative_path / "experiment_request.json"
    original = request.read_bytes()

    stepped = project.ms("step", run_id)

    assert stepped.returncode == 0, stepped.stderr
    (after,) = project.attempts(run_id, task)
    assert (after.attempt_id, after.status.value, after.ended_at) == (before.attempt_id, "WAITING_EXTERNAL", None)
    assert request.read_bytes() == original == next(LEGACY.glob(f"{version}/*/runs/{run_id}/{before.relative_path}/"
                                                                 "experiment_request.json")).read_bytes()
    assert not (request.parent / "experiment_result.json").exists()
    waits = frontier(project, run_id)[task]["waits_for"]
    assert waits.startswith(f"experiment_result.json in {before.relative_path} (no lab agent has claimed it yet) (for ")
