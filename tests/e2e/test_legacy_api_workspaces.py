"""Workspaces written for MatterStack 0.2.x's Python API (``legacy_api_workspaces/``) run to
COMPLETED unchanged, both as ``python main.py`` (their simulated lab in a thread of their
own) and as ``matterstack init`` + ``matterstack loop`` (the test is the lab). Either way a
person, played by the test, answers the approval by writing ``response.json``."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

from e2e_kit import Project, ok
from installs import clean_env

WORKSPACES = Path(__file__).parent / "legacy_api_workspaces"
RUN_TIMEOUT = 120


@attrs.frozen
class Shape:
    """What a workspace asks of the outside world, and how the test answers it."""

    request: str  # the file a lab request is, in its attempt folder
    result: str  # the file the lab answers with, beside it
    measure: Callable[[dict], dict]  # request → the lab's answer
    review_task: str  # the task a person answers
    verdict: dict  # the data of the person's response.json


SHAPES = {
    "coatings_active_learning": Shape(
        "experiment_request.json", "experiment_result.json",
        lambda asked: {"status": "COMPLETED", "data": {"adhesion": asked["request_data"]["x"]}},
        "approve_best", {"approved": True}),
    "alloy_review": Shape(
        "experiment_request.json", "experiment_result.json",
        lambda asked: {"status": "COMPLETED", "data": {"strength_mpa": len(asked["config"]["alloy"])}},
        "metallurgist_review", {"verdict": "accept"}),
    "thin_film_wrapper": Shape(
        "request.json", "response.json",
        lambda asked: {"status": "success", "thickness_nm": 12.5, "rig": "test-rig"},
        "sign_off", {"name": "Dr. Okafor"}),
}


def environment() -> dict[str, str]:
    """The user's environment: ``python3`` (which local jobs run) is the interpreter with
    MatterStack installed."""
    return clean_env(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def copy_workspace(project: Project, slug: str) -> Path:
    return Path(shutil.copytree(WORKSPACES / slug, project.workspaces / slug))


def write_once(path: Path, value: dict) -> None:
    """Write ``path`` whole (through a rename), unless it exists."""
    if not path.exists():
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(json.dumps(value))
        partial.rename(path)


@contextlib.contextmanager
def outside_world(runs: Path, shape: Shape, *, lab: bool) -> Iterator[None]:
    """While the block runs, a person answers the review (and, with ``lab``, the lab
    answers every request) of the runs under ``runs``."""
    stop = threading.Event()

    def answer() -> None:
        while not stop.wait(0.05):
            for schema in runs.glob(f"*/tasks/{shape.review_task}/attempts/*/schema.json"):
                write_once(schema.with_name("response.json"), {"status": "COMPLETED", "data": shape.verdict})
            if lab:
                for request in runs.glob(f"*/tasks/*/attempts/*/{shape.request}"):
                    if request.parent.parent.parent.name != shape.review_task:
                        write_once(request.with_name(shape.result), shape.measure(json.loads(request.read_text())))

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_main(project: Project, slug: str) -> subprocess.CompletedProcess:
    """``python workspaces/<slug>/main.py`` from the project folder, the person answering."""
    folder = copy_workspace(project, slug)
    with outside_world(folder / "runs", SHAPES[slug], lab=False):
        return subprocess.run([sys.executable, f"workspaces/{slug}/main.py"], cwd=project.root, env=environment(),
                              capture_output=True, text=True, timeout=RUN_TIMEOUT)


def init_and_loop(project: Project, slug: str) -> tuple[str, subprocess.CompletedProcess]:
    """``matterstack init <slug>`` then ``matterstack loop <run>``, the lab and the person answering."""
    folder = copy_workspace(project, slug)
    run_id = project.init(slug)
    with outside_world(folder / "runs", SHAPES[slug], lab=True):
        looped = project.matterstack("loop", run_id, "--interval", "0.1", env=environment(), timeout=RUN_TIMEOUT)
    return run_id, looped


def the_run(project: Project, slug: str) -> str:
    (run_dir,) = (project.workspaces / slug / "runs").iterdir()
    return run_dir.name


def campaign_state(project: Project, run_id: str) -> dict:
    return json.loads((project.run_dir(run_id) / "campaign_state.json").read_text())


@pytest.mark.parametrize("slug", sorted(SHAPES))
def test_a_legacy_workspace_run_as_python_main_py_completes(project, slug):
    # given a workspace written for 0.2.x's API, and a person who answers its review
    # when the user runs its main.py from the project folder
    result = run_main(project, slug)
    # then the run completed, in the workspace's runs folder, and main.py said so
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.splitlines()[-1] == "Finished: COMPLETED"
    run_id = the_run(project, slug)
    assert project.run_status(run_id) == "COMPLETED"


@pytest.mark.parametrize("slug", sorted(SHAPES))
def test_a_legacy_workspace_run_with_init_and_loop_completes(project, slug):
    # given a workspace written for 0.2.x's API; the test plays its lab and the person
    # when the user makes a run with `matterstack init` and loops it
    run_id, looped = init_and_loop(project, slug)
    # then the loop ends with the run COMPLETED
    ok(looped)
    assert f"Run {run_id} COMPLETED" in looped.stdout
    assert project.run_status(run_id) == "COMPLETED"


def test_the_active_learning_state_is_the_pydantic_model_after_two_rounds_and_the_approval(project):
    run_main(project, "coatings_active_learning")

    state = campaign_state(project, the_run(project, "coatings_active_learning"))

    # the state is the model as 0.2.x saved it (model_dump_json), grown by each analyze
    assert list(state) == ["round", "measured", "simulated", "best", "approved"]
    assert state["round"] == 2 and state["approved"] is True
    assert len(state["measured"]) == 4 and set(state["measured"]) == set(state["simulated"])
    assert state["best"] == max(state["measured"], key=state["measured"].get)


def test_the_random_surrogate_picks_the_same_candidates_through_either_entry_point(project, tmp_path, installed_matterstack):
    # RandomSurrogate(seed=42 + round) ranks the same way whoever drives the run
    run_main(project, "coatings_active_learning")
    other = Project(tmp_path / "other", installed_matterstack)
    run_id, _ = init_and_loop(other, "coatings_active_learning")

    first = campaign_state(project, the_run(project, "coatings_active_learning"))
    second = campaign_state(other, run_id)

    assert set(first["measured"]) == set(second["measured"])


def test_step_run_with_operators_config_and_lifecycle_hooks_on_a_relative_handle(project):
    # given alloy_review's main.py: step_run by hand on a RunHandle made from the relative
    # path workspaces/alloy_review/runs/<id>, with operators_config= and lifecycle_hooks=
    result = run_main(project, "alloy_review")
    ok(result)
    run_id = the_run(project, "alloy_review")
    run_dir = project.run_dir(run_id)

    # then the handle printed is absolute, in the project, and the run is pinned to the file given
    assert f"Run {run_id} at {run_dir}" in result.stdout
    metadata = json.loads((run_dir / "operators_snapshot" / "metadata.json").read_text())
    assert metadata["effective"]["source"] == "CLI_OVERRIDE"
    # and each attempt went through create, submit, complete in the hook's journal
    journal = (project.workspaces / "alloy_review" / "lifecycle.log").read_text().splitlines()
    tasks = {line.split()[1] for line in journal}
    assert len(tasks) == 7  # three relaxations, three tensile tests, the review
    for task_id in tasks:
        events = [line.split()[0] for line in journal if line.split()[1] == task_id]
        assert events == ["create", "submit", "complete"], (task_id, events)
    assert "create metallurgist_review human.default 1" in journal
    # and LoggingHook logged in 0.2.x's words
    assert "Attempt completed: attempt_id=" in result.stderr
    assert campaign_state(project, run_id)["verdict"] == "accept"


def test_the_same_workspace_looped_from_the_cli_uses_its_own_operators_yaml(project):
    run_id, looped = init_and_loop(project, "alloy_review")

    ok(looped)
    metadata = json.loads((project.run_dir(run_id) / "operators_snapshot" / "metadata.json").read_text())
    assert metadata["effective"]["source"] == "WORKSPACE_DEFAULT"


def test_external_tasks_on_a_local_operator_run_the_wrapper_that_waits_for_the_response(project):
    ok(run_main(project, "thin_film_wrapper"))
    run_dir = project.run_dir(the_run(project, "thin_film_wrapper"))

    deposits = sorted(run_dir.glob("tasks/deposit_*/attempts/*"))
    assert len(deposits) == 2
    for attempt in deposits:
        assert json.loads((attempt / "request.json").read_text())["recipe"] == attempt.parts[-3][len("deposit_"):]
        assert (attempt / "stderr.log").read_text().splitlines()[-1] == "response received from response.json"
    state = campaign_state(project, run_dir.name)
    assert state["signed_off_by"] == "Dr. Okafor"
    assert {film["rig"] for film in state["films"].values()} == {"sputter-2"}
