"""A local job whose wrapper could not write its pid (a full disk) reads as "starting" only
for a bounded time (issue 16, defect 4): then, with no wrapper of it alive, it never started
and nothing ran, so it is launched again once; a job that never starts twice is lost."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from process_watch import wait_for
from small_disk import fill, small_disk

from matterstack.backends import local_jobs


def launch_and_wait_for_its_wrapper(workdir, command: str) -> None:
    earlier = list(local_jobs._unreaped)
    local_jobs.launch(workdir, command, {})
    for wrapper in [p for p in local_jobs._unreaped if not any(p is e for e in earlier)]:
        wrapper.wait(timeout=10)


def age(path, seconds: float) -> None:
    """Set ``path``'s times ``seconds`` into the past (what waiting that long would leave)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_claim_a_full_disk_left_empty_is_starting_then_never_started_and_runs_once_launched_again(tmp_path):
    with small_disk(tmp_path / "disk", "1m") as disk:
        # given a job launched on a disk so full that its wrapper cannot write its pid
        workdir = disk / "job"
        workdir.mkdir()
        filler = fill(disk)
        launch_and_wait_for_its_wrapper(workdir, "echo ran >> runs.txt")
        claim = workdir / local_jobs.CLAIM
        assert claim.read_text() == ""
        # then it reads as starting while its claim is young
        assert local_jobs.observe(workdir) == local_jobs.LocalJobState("queued", reason="the process is starting")

        # when the claim is older than the bound
        age(claim, local_jobs.STARTING_LIMIT_SECONDS + 1)

        # then the job never started and nothing ran
        state = local_jobs.observe(workdir)
        assert state.state == "unstarted"
        assert state.reason == ("the job never started: its wrapper could not write its pid to .matterstack "
                                "within 60 s (a full disk?); nothing ran")
        assert not (workdir / "runs.txt").exists()

        # and once space is freed, clearing its claim and launching it again runs it once
        filler.unlink()
        local_jobs.forget_unstarted(workdir)
        local_jobs.launch(workdir, "echo ran >> runs.txt", {})
        wait_for(lambda: local_jobs.observe(workdir).state == "exited", what="the job to exit")
        launch_and_wait_for_its_wrapper(workdir, "echo ran >> runs.txt")
        assert (workdir / "runs.txt").read_text() == "ran\n"


def test_a_job_that_never_starts_twice_is_lost_with_the_reason(tmp_path):
    with small_disk(tmp_path / "disk", "1m") as disk:
        # given a job that never started, launched again while the disk is still full
        workdir = disk / "job"
        workdir.mkdir()
        fill(disk)
        launch_and_wait_for_its_wrapper(workdir, "echo ran >> runs.txt")
        age(workdir / local_jobs.CLAIM, local_jobs.STARTING_LIMIT_SECONDS + 1)
        assert local_jobs.observe(workdir).state == "unstarted"
        local_jobs.forget_unstarted(workdir)
        launch_and_wait_for_its_wrapper(workdir, "echo ran >> runs.txt")

        # when its new claim is past the bound too
        age(workdir / local_jobs.CLAIM, local_jobs.STARTING_LIMIT_SECONDS + 1)

        # then it is lost, saying why, and nothing ran
        state = local_jobs.observe(workdir)
        assert state == local_jobs.LocalJobState("lost", reason=(
            "the job never started, twice: its wrapper could not write its pid to .matterstack within 60 s "
            "(a full disk?); nothing ran"))
        assert not (workdir / "runs.txt").exists()


def test_a_wrapper_still_alive_keeps_an_old_empty_claim_starting(tmp_path):
    # given a live wrapper of a job whose claim is empty and old (a wrapper the machine is slow
    # to schedule: it has not written its pid yet)
    workdir = tmp_path / "job"
    workdir.mkdir()
    (workdir / local_jobs.CLAIM).write_text("")
    age(workdir / local_jobs.CLAIM, local_jobs.STARTING_LIMIT_SECONDS + 1)
    slow = subprocess.Popen(["/bin/sh", "-c", "sleep 30; true", local_jobs.JOB_NAME, str(workdir)],
                            start_new_session=True)
    try:
        wait_for(lambda: local_jobs.JOB_NAME.encode() in Path(f"/proc/{slow.pid}/cmdline").read_bytes(),
                 what="the wrapper to start")
        # then the job is still starting, never relaunched behind a live wrapper's back
        assert local_jobs.observe(workdir) == local_jobs.LocalJobState("queued", reason="the process is starting")
    finally:
        slow.kill()
        slow.wait()
