"""Who may read what a run keeps: the run folder is its owner's only (0700), the files that
hold task values (the database, each manifest, inline inputs) are 0600, a copied input keeps
its source's mode, and a stricter umask takes away more. A relative ``FileFromPath`` is
found from the workspace folder, wherever ``step`` runs. Every command runs in a shell
that set the umask first, as a user's login shell does."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from e2e_kit import EXAMPLES, Project, ok

STAGING = """
    from pathlib import Path

    from matterstack import Campaign, FileFromContent, FileFromPath, Task, Workflow

    HERE = Path(__file__).parent

    class Staging(Campaign):
        \"\"\"One task staging a relative source, a Path(__file__)-based one and inline text.\"\"\"

        def plan(self, state):
            if state is not None:
                return None
            return Workflow([Task(
                task_id="t",
                command="cat secret.txt tool.sh note.txt > out.txt && ./tool.sh >> out.txt",
                files={"secret.txt": FileFromPath("inputs/secret.txt"),
                       "tool.sh": FileFromPath(HERE / "inputs" / "tool.sh"),
                       "note.txt": FileFromContent("token in a file\\n")},
                env={"API_TOKEN": "s3cret"},
            )])

        def analyze(self, state, results):
            return {"status": results["t"]["status"]}

    def get_campaign():
        return Staging()
"""


def umask_project(root: Path, command: list[str], umask: str) -> Project:
    """A project whose ``matterstack`` runs under ``umask``, set in the shell starting it."""
    return Project(root, ["/bin/sh", "-c", f'umask {umask} && exec "$0" "$@"', *command])


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(os.stat(path).st_mode))


def staging_workspace(project: Project, secret_mode: int, tool_mode: int) -> Path:
    workspace = project.add_workspace("staging", STAGING)
    inputs = workspace / "inputs"
    inputs.mkdir()
    (inputs / "secret.txt").write_text("hush\n")
    (inputs / "tool.sh").write_text("#!/bin/sh\necho tool ran\n")
    (inputs / "secret.txt").chmod(secret_mode)
    (inputs / "tool.sh").chmod(tool_mode)
    return workspace


def attempt_dir(project: Project, run_id: str) -> Path:
    (folder,) = (project.run_dir(run_id) / "tasks" / "t" / "attempts").iterdir()
    return folder


def run_to_the_end(project: Project, run_id: str, cwd: Path | None = None) -> None:
    for _ in range(100):
        if project.run_status(run_id) in ("COMPLETED", "FAILED"):
            break
        ok(project.matterstack("step", run_id, "--workspaces-root", str(project.workspaces), cwd=cwd))
    assert project.run_status(run_id) == "COMPLETED", project.matterstack("explain", run_id).stdout


def test_a_copied_input_keeps_its_source_mode_and_the_run_folder_is_owner_only(tmp_path, installed_matterstack):
    # given a user whose umask is 022 and a workspace with a 0640 input and a 0755 script
    project = umask_project(tmp_path / "project", installed_matterstack, "022")
    workspace = staging_workspace(project, 0o640, 0o755)

    # when a run of it goes to the end, stepped from the workspace folder
    run_id = project.init("staging")
    run_to_the_end(project, run_id, cwd=workspace)

    # then the copies keep their sources' modes (the script still runs)
    folder = attempt_dir(project, run_id)
    assert mode(folder / "secret.txt") == "0o640"
    assert mode(folder / "tool.sh") == "0o755"
    assert (folder / "out.txt").read_text().endswith("tool ran\n")
    # and the run folder is its owner's only, as are the files holding the task's values
    run_dir = project.run_dir(run_id)
    assert mode(run_dir) == "0o700"
    assert mode(run_dir / "state.sqlite") == "0o600"
    assert mode(folder / "manifest.json") == "0o600"
    assert mode(folder / "note.txt") == "0o600"
    assert mode(folder / "config_snapshot" / "inputs.json") == "0o600"
    # and the job's own output follows the job's umask, readable by the user
    assert mode(folder / "out.txt") == "0o644"


@pytest.mark.parametrize(("umask", "secret", "tool", "inline"), [
    ("027", "0o640", "0o750", "0o600"),
    ("077", "0o600", "0o700", "0o600"),
])
def test_a_stricter_umask_takes_more_away_from_run_folders_and_staged_files(
        tmp_path, installed_matterstack, umask, secret, tool, inline):
    # given a user with a stricter umask, and inputs readable by everyone
    project = umask_project(tmp_path / "project", installed_matterstack, umask)
    workspace = staging_workspace(project, 0o664, 0o775)

    # when a run of it goes to the end, stepped from the workspace folder
    run_id = project.init("staging")
    run_to_the_end(project, run_id, cwd=workspace)

    # then the copies keep what the umask leaves of their sources' modes, as cp does
    folder = attempt_dir(project, run_id)
    assert (mode(folder / "secret.txt"), mode(folder / "tool.sh"), mode(folder / "note.txt")) == (secret, tool, inline)
    assert mode(project.run_dir(run_id)) == "0o700"


def test_a_relative_file_from_path_is_found_from_the_workspace_folder_wherever_step_runs(
        tmp_path, installed_matterstack):
    # given a workspace staging inputs/secret.txt, named relative to the workspace folder
    project = umask_project(tmp_path / "project", installed_matterstack, "022")
    workspace = staging_workspace(project, 0o644, 0o755)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    # when the run is made from the project folder and stepped from a folder with no inputs/
    run_id = project.init("staging")
    run_to_the_end(project, run_id, cwd=elsewhere)

    # then the file came from the workspace folder, and the manifest says so
    folder = attempt_dir(project, run_id)
    assert (folder / "secret.txt").read_text() == "hush\n"
    sources = json.loads((folder / "manifest.json").read_text())["task"]["files"]
    assert sources["secret.txt"]["source_path"] == str(workspace.resolve() / "inputs" / "secret.txt")
    assert sources["tool.sh"]["source_path"] == str(workspace / "inputs" / "tool.sh")


def test_the_demo_still_runs_to_its_report_in_an_owner_only_run_folder(tmp_path, installed_matterstack):
    # given a copy of the examples, and a user whose umask is 022
    project = umask_project(tmp_path / "project", installed_matterstack, "022")
    shutil.copytree(EXAMPLES, project.root / "examples")

    # when the demo is run with one command
    result = ok(project.matterstack("run", "examples/screening", "--interval", "0.05"))

    # then it completes in a 0700 run folder, and the user reads its report and the ranking
    report = Path(result.stdout.splitlines()[-1].removeprefix("Report: "))
    run_dir = report.parents[1]
    assert mode(run_dir) == "0o700"
    assert "status: **COMPLETED**" in report.read_text()
    (ranking,) = run_dir.glob("tasks/rank/attempts/*/report.md")
    assert "Ar" in ranking.read_text()
