"""The pid file is a local job's claim; a job claimed the earlier way is never run again."""

from __future__ import annotations

from process_watch import wait_for

from matterstack.backends import local_jobs


def launch_and_wait_for_its_wrapper(workdir, command: str) -> None:
    """Launch ``command`` in ``workdir`` and wait until that launch's wrapper has exited
    (whatever it did is done then). A wrapper that exits at once may already have been
    reaped by the launch itself, and is then no longer listed."""
    earlier = list(local_jobs._unreaped)
    local_jobs.launch(workdir, command, {})
    for wrapper in [p for p in local_jobs._unreaped if not any(p is e for e in earlier)]:
        wrapper.wait(timeout=10)


def test_the_first_launch_claims_the_job_with_its_pid_and_a_second_launch_runs_nothing(tmp_path):
    # given a job launched once that appends a line to a file, and has ended
    workdir = tmp_path / "job"
    workdir.mkdir()
    local_jobs.launch(workdir, "echo ran >> runs.txt", {})
    wait_for(lambda: local_jobs.observe(workdir).state == "exited", what="the job to exit")
    # then its claim is the pid file, holding a pid and a start time on one ended line
    pid_line = (workdir / local_jobs.CONTROL_DIR / "pid").read_text()
    assert pid_line.endswith("\n") and len(pid_line.split()) == 2
    assert not (workdir / local_jobs.CONTROL_DIR / local_jobs.LEGACY_CLAIM).exists()
    # when it is launched again, then the command does not run a second time
    launch_and_wait_for_its_wrapper(workdir, "echo ran >> runs.txt")
    assert (workdir / "runs.txt").read_text() == "ran\n"


def test_a_job_claimed_by_an_earlier_version_is_launched_and_never_runs(tmp_path):
    # given a work directory an earlier version's wrapper claimed (empty claim, no pid yet)
    workdir = tmp_path / "job"
    (workdir / local_jobs.CONTROL_DIR).mkdir(parents=True)
    (workdir / local_jobs.CONTROL_DIR / local_jobs.LEGACY_CLAIM).write_text("")
    # then it counts as launched
    assert local_jobs.was_launched(workdir)
    # and when it is launched by this version, the command never runs
    launch_and_wait_for_its_wrapper(workdir, "echo ran >> runs.txt")
    assert not (workdir / "runs.txt").exists()
    assert not (workdir / local_jobs.CONTROL_DIR / "pid").exists()
