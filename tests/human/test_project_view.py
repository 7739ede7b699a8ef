"""``matterstack.plugins``' read-only view of a project's runs, as a plugin's command reads
it: a real project whose run asks a person two questions (``human.default``)."""

from __future__ import annotations

import pytest

from matterstack.errors import MatterStackError, RunNotFoundError
from matterstack.plugins import AttemptStatus, ProjectView, RunView
from matterstack.store import RunLock


@pytest.fixture
def asking(project):
    """A project and the id of its run, stepped once: tasks ``keep`` and ``drop`` wait."""
    project.add_gate_workspace(["keep", "drop"])
    run_id = project.init("gate")
    project.ok("step", run_id)
    return project, run_id


def test_the_view_finds_the_projects_runs_from_any_of_its_folders(asking, monkeypatch):
    project, run_id = asking
    monkeypatch.delenv("MATTERSTACK_WORKSPACES_ROOT", raising=False)
    monkeypatch.chdir(project.workspaces / "gate")

    view = ProjectView.find()

    assert view.run_dirs() == [project.run_dir(run_id).resolve()]
    assert view.run_dir(run_id) == project.run_dir(run_id).resolve()
    assert view.run_dir(str(project.run_dir(run_id))) == project.run_dir(run_id).resolve()


def test_a_run_id_the_project_does_not_have_names_where_it_looked(asking):
    project, _ = asking

    with pytest.raises(RunNotFoundError, match="no run '20990101_000000_00000000'") as refused:
        ProjectView.find(project.workspaces).run_dir("20990101_000000_00000000")
    assert str(project.folder) in refused.value.one_line()


def test_waiting_attempts_of_a_kind_carry_their_task_and_directory(asking):
    project, run_id = asking

    with RunView.open(project.run_dir(run_id)) as run:
        waiting = run.waiting_attempts({"human"})
        elsewhere = run.waiting_attempts({"manual_hpc"})

    assert (run.run_id, run.workspace) == (run_id, "gate")
    assert sorted(a.task.task_id for a in waiting) == ["drop", "keep"]
    assert elsewhere == []
    for attempt in waiting:
        assert (attempt.status, attempt.task_status) == (AttemptStatus.WAITING_EXTERNAL, "WAITING_EXTERNAL")
        assert (attempt.operator_key, attempt.kind, attempt.attempt_index) == ("human.default", "human", 1)
        assert attempt.relative_dir == f"tasks/{attempt.task.task_id}/attempts/{attempt.attempt_id}"
        assert (attempt.attempt_dir / "instructions.md").is_file()
        assert attempt.submitted_at is not None and attempt.submitted_at.utcoffset().total_seconds() == 0


def test_a_run_is_read_while_its_lock_is_held(asking):
    project, run_id = asking

    with RunLock(project.run_dir(run_id)), RunView.open(project.run_dir(run_id)) as run:
        attempts = run.task_attempts("keep")

    assert [a.status for a in attempts] == [AttemptStatus.WAITING_EXTERNAL]


def test_a_task_the_run_does_not_have_is_refused_in_one_line(asking):
    project, run_id = asking

    with RunView.open(project.run_dir(run_id)) as run, pytest.raises(MatterStackError, match="no task 'nope'"):
        run.task_attempts("nope")
