"""A run folder the user may read but not write (a finished run on a shared disk, an archive):
the reading commands work on it and leave it as it was; ``export-evidence`` writes elsewhere
with ``--output DIR``, and without it says so in one line.

Root ignores permission bits, so as root the commands run without the capabilities that
bypass them (as tests/store/test_store_open_refusals.py does)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from e2e_kit import LEGACY_RUNS, TWO_TASKS, Project, assert_one_line_error, copy_writable, hash_tree, ok

V3_RUNNING = "20261124_142443_89d0213d"


def as_a_user_who_may_not_write(project: Project, *args: str) -> subprocess.CompletedProcess:
    command = [*project.command, *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv is not None, "running as root needs setpriv (util-linux) to drop DAC override"
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *command]
    return subprocess.run(command, capture_output=True, text=True, cwd=project.root, timeout=180)


@pytest.fixture
def read_only(request):
    """``read_only(folder)``: make ``folder`` and everything below it read-only for this test."""
    made = []

    def make(folder):
        for path in [folder, *folder.rglob("*")]:
            if not path.is_symlink():
                made.append((path, path.stat().st_mode))
                path.chmod(path.stat().st_mode & ~0o222)
        return hash_tree(folder)

    yield make
    for path, mode in reversed(made):
        path.chmod(mode)


@pytest.fixture
def finished_run(project):
    project.add_workspace("two", TWO_TASKS)
    run_id = project.init("two")
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))
    return run_id


def test_explain_and_attempts_work_on_a_read_only_run_folder_and_change_nothing(project, finished_run, read_only):
    run_dir = project.run_dir(finished_run)
    before = read_only(run_dir)

    explained = as_a_user_who_may_not_write(project, "explain", finished_run)
    explained_json = as_a_user_who_may_not_write(project, "explain", finished_run, "--json")
    attempts = as_a_user_who_may_not_write(project, "attempts", finished_run, "prepare")
    status = as_a_user_who_may_not_write(project, "status", finished_run)

    assert ok(explained).stdout.startswith(f"Run {finished_run}: COMPLETED")
    assert json.loads(ok(explained_json).stdout)
    assert "COMPLETED" in ok(attempts).stdout.splitlines()[0]
    assert ok(status).stdout.startswith(f"Run {finished_run}: COMPLETED")
    assert hash_tree(run_dir) == before


def test_export_evidence_of_a_read_only_run_folder_writes_into_output(project, finished_run, read_only, tmp_path):
    run_dir = project.run_dir(finished_run)
    before = read_only(run_dir)
    output = tmp_path / "evidence-copy"

    result = ok(as_a_user_who_may_not_write(project, "export-evidence", finished_run, "--output", str(output)))

    assert result.stdout == (f"Evidence written: {output / 'bundle.json'}, {output / 'report.md'} "
                             f"and {output / 'report.html'}\n")
    assert json.loads((output / "bundle.json").read_text())["run_id"] == finished_run
    assert hash_tree(run_dir) == before


def test_export_evidence_of_a_read_only_run_folder_without_output_names_the_option(project, finished_run, read_only):
    run_dir = project.run_dir(finished_run)
    before = read_only(run_dir)

    result = as_a_user_who_may_not_write(project, "export-evidence", finished_run)

    assert_one_line_error(result, "cannot write the evidence", "Permission denied", "pass --output DIR")
    assert hash_tree(run_dir) == before


def test_explain_reads_a_read_only_0_2_x_run_without_migrating_it(tmp_path, installed_matterstack, read_only):
    # given a 0.2.x run (an older schema) in a folder the user may not write
    project = Project(tmp_path / "v3", installed_matterstack)
    copy_writable(LEGACY_RUNS / "v3", project.workspaces)
    run_dir = project.run_dir(V3_RUNNING)
    before = read_only(run_dir)

    # when
    explained = as_a_user_who_may_not_write(project, "explain", V3_RUNNING)
    attempts = as_a_user_who_may_not_write(project, "attempts", V3_RUNNING, "build_chains", "--json")

    # then it is read through a migrated copy in memory; the file is as it was, with no .bak
    assert ok(explained).stdout.startswith(f"Run {V3_RUNNING}: ")
    assert [a["operator_key"] for a in json.loads(ok(attempts).stdout)] == ["hpc.default"]
    assert hash_tree(run_dir) == before


def test_loop_over_the_project_leaves_out_a_run_it_may_not_write_and_finishes_the_others(project, read_only):
    # given two runs that have not started, one of them in a folder the user may not write
    project.add_workspace("two", TWO_TASKS)
    blocked, free = project.init("two"), project.init("two")
    before = read_only(project.run_dir(blocked))

    # when every active run is looped
    result = as_a_user_who_may_not_write(project, "loop", "--interval", "0.05")

    # then the other run completes, the read-only one is named once and left as it was
    assert result.returncode == 2, result.stderr
    assert f"Run {free} COMPLETED" in result.stdout
    assert result.stderr.count(f"Error: run {blocked} left out: ") == 1
    assert hash_tree(project.run_dir(blocked)) == before
