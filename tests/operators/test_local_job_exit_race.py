"""An exit code whose writer finishes between the two looks of ``observe`` is read whole."""

from __future__ import annotations

from pathlib import Path

from matterstack.backends import local_jobs


def test_an_exit_code_finished_just_as_its_wrapper_ended_is_read_not_taken_for_lost(tmp_path, monkeypatch):
    # given a job whose exit code file was just opened by its wrapper (still empty)
    workdir = tmp_path / "job"
    workdir.mkdir(parents=True)
    (workdir / local_jobs.CLAIM).write_text("")
    exit_file = workdir / local_jobs.EXIT_CODE_FILE
    exit_file.write_text("")

    # and a wrapper that writes "0\n" and exits right after observe first read the file
    # (a fake: the race lasts microseconds, so a real wrapper cannot be made to hit it)
    def wrapper_finishes_meanwhile(job_dir: Path):
        exit_file.write_text("0\n")
        return None  # gone: a zombie, or reaped

    monkeypatch.setattr(local_jobs, "_live_pid", wrapper_finishes_meanwhile)
    # when the job is observed
    state = local_jobs.observe(workdir)
    # then it exited with code 0
    assert (state.state, state.exit_code) == ("exited", 0)
