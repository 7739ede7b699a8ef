"""The pid file ``.matterstack`` is a local job's claim; a job claimed by an earlier version
(in a ``.matterstack/`` folder) is never run again, and one such a version launched but never
ran is run once; a pid counts as the job only while its process is the job's wrapper."""

from __future__ import annotations

import subprocess
from pathlib import Path

from compute_kit import read_pid
from process_watch import process_alive, wait_for

from matterstack.backends import local_jobs

LEGACY_FOLDER = local_jobs.CLAIM


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
    # then its claim is one file beside the logs, holding its wrapper's pid on one ended line
    pid_line = (workdir / local_jobs.CLAIM).read_text()
    assert pid_line.endswith("\n") and pid_line.strip().isdigit()
    assert sorted(p.name for p in workdir.iterdir()) == [".matterstack", "exit_code", "runs.txt",
                                                          "stderr.log", "stdout.log"]
    # when it is launched again, then the command does not run a second time
    launch_and_wait_for_its_wrapper(workdir, "echo ran >> runs.txt")
    assert (workdir / "runs.txt").read_text() == "ran\n"


def test_a_job_claimed_by_an_earlier_version_is_launched_and_never_runs(tmp_path):
    # given a work directory an earlier version's wrapper claimed (empty claim, no pid yet)
    workdir = tmp_path / "job"
    (workdir / LEGACY_FOLDER).mkdir(parents=True)
    (workdir / LEGACY_FOLDER / local_jobs.LEGACY_CLAIM).write_text("")
    # then it counts as launched, and reads as starting
    assert local_jobs.was_launched(workdir)
    assert local_jobs.observe(workdir) == local_jobs.LocalJobState("queued", reason="the process is starting")
    # and when it is launched by this version, the command never runs
    launch_and_wait_for_its_wrapper(workdir, "echo ran >> runs.txt")
    assert not (workdir / "runs.txt").exists()
    assert not (workdir / LEGACY_FOLDER / local_jobs.LEGACY_PID).exists()


def test_a_job_an_earlier_version_launched_but_never_ran_runs_once_claimed_the_earlier_way(tmp_path):
    # given a work directory with an earlier version's control folder and no claim in it (its
    # launcher made the folder, then was killed before the wrapper started)
    workdir = tmp_path / "job"
    (workdir / LEGACY_FOLDER).mkdir(parents=True)
    assert not local_jobs.was_launched(workdir)
    # when this version launches it twice
    local_jobs.launch(workdir, "echo ran >> runs.txt", {})
    wait_for(lambda: local_jobs.observe(workdir).state == "exited", what="the job to exit")
    launch_and_wait_for_its_wrapper(workdir, "echo ran >> runs.txt")
    # then it ran once, claimed by the pid file in that folder, where that version looks
    assert (workdir / "runs.txt").read_text() == "ran\n"
    assert (workdir / LEGACY_FOLDER / local_jobs.LEGACY_PID).read_text().strip().isdigit()


def test_a_pid_now_held_by_another_program_is_no_job_and_cancel_leaves_that_program_alone(tmp_path):
    # given a job whose wrapper is gone without an exit code, and whose pid another program
    # (in a process group of its own, as a job's would be) now holds
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        workdir = tmp_path / "job"
        workdir.mkdir()
        (workdir / local_jobs.CLAIM).write_text(f"{other.pid}\n")
        # when it is observed, then it reads as lost, not running
        state = local_jobs.observe(workdir)
        assert (state.state, state.reason) == ("lost", "the process ended without recording an exit code")
        # and when it is cancelled, then the other program lives on
        local_jobs.cancel(workdir)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_a_job_runs_on_when_its_run_folder_is_moved(tmp_path):
    # given a running job
    workdir = tmp_path / "before" / "job"
    local_jobs.launch(workdir, "sleep 60", {})
    wrapper = read_pid(workdir / local_jobs.CLAIM)
    # when the folder above it is renamed, then the job is found running at its new place
    moved = (tmp_path / "before").rename(tmp_path / "after") / "job"
    assert local_jobs.observe(moved) == local_jobs.LocalJobState("running", reason=f"process {wrapper} running")
    # and cancelling it there stops it
    local_jobs.cancel(moved)
    wait_for(lambda: not process_alive(wrapper), timeout=5, what="the job to die")
    assert local_jobs.observe(moved).state == "cancelled"


def test_a_pid_file_an_earlier_version_wrote_with_the_start_time_is_still_read(tmp_path):
    # given a running job claimed the earlier way: in the folder, pid then start time
    workdir = tmp_path / "job"
    (workdir / LEGACY_FOLDER).mkdir(parents=True)
    local_jobs.launch(workdir, "sleep 60", {})
    pid_file = workdir / LEGACY_FOLDER / local_jobs.LEGACY_PID
    wrapper = read_pid(pid_file)
    started = Path(f"/proc/{wrapper}/stat").read_text().rsplit(")", 1)[-1].split()[19]
    # when the start time is the wrapper's, then it is running
    pid_file.write_text(f"{wrapper} {started}\n")
    assert local_jobs.observe(workdir).state == "running"
    # when it is another start time (the pid was reused), then it is not
    pid_file.write_text(f"{wrapper} {int(started) + 1}\n")
    assert local_jobs.observe(workdir).state == "lost"
    # and with its own start time back, cancel stops it, marking it where that version looks
    pid_file.write_text(f"{wrapper} {started}\n")
    local_jobs.cancel(workdir)
    wait_for(lambda: not process_alive(wrapper), timeout=5, what="the job to die")
    assert (workdir / LEGACY_FOLDER / local_jobs.LEGACY_CANCEL).exists()
    assert local_jobs.observe(workdir).state == "cancelled"


def test_an_earlier_version_s_cancel_marker_stops_a_job_this_version_launches(tmp_path):
    # given a job an earlier version launched and then cancelled before its wrapper ran
    workdir = tmp_path / "job"
    (workdir / LEGACY_FOLDER).mkdir(parents=True)
    (workdir / LEGACY_FOLDER / local_jobs.LEGACY_CANCEL).write_text("")
    # when this version launches it, then the command never runs and the job reads cancelled
    launch_and_wait_for_its_wrapper(workdir, "echo ran >> runs.txt")
    assert not (workdir / "runs.txt").exists()
    assert local_jobs.observe(workdir).state == "cancelled"
