"""Detached local jobs: they outlive whoever launched them, record their exit code in a
file, run at most once per work directory, and die with their whole process group."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from compute_kit import read_pid
from process_watch import process_alive, wait_for

from matterstack.backends import local_jobs
from matterstack.backends.local import LocalBackend
from matterstack.core.status import AttemptStatus
from matterstack.plugins import JobSpec, OperatorContext
from matterstack.plugins.builtin import LocalBackendSettings


def _exited(workdir):
    state = local_jobs.observe(workdir)
    return state if state.state == "exited" else None


def test_detached_job_outlives_the_process_that_launched_it(tmp_path):
    # given a job launched by a short-lived process that exits at once
    workdir = tmp_path / "job"
    launcher = textwrap.dedent(f"""
        from pathlib import Path
        from matterstack.backends import local_jobs
        local_jobs.launch(Path({str(workdir)!r}), "sleep 0.3; echo survived > out.txt", {{}})
    """)
    subprocess.run([sys.executable, "-c", launcher], check=True, timeout=30)
    # when this process polls it
    assert local_jobs.observe(workdir).state in ("queued", "running")
    state = wait_for(lambda: _exited(workdir), what="the job to exit")
    # then it ran to the end after its launcher was gone
    assert state.exit_code == 0
    assert (workdir / "out.txt").read_text() == "survived\n"


def test_exit_code_is_a_file_any_process_can_read(tmp_path):
    # given a job that fails with exit code 3 and writes to stderr
    workdir = tmp_path / "job"
    local_jobs.launch(workdir, "echo 'no convergence' >&2; exit 3", {})
    # when it has ended
    state = wait_for(lambda: _exited(workdir), what="the job to exit")
    # then the exit code is in its file and the streams in theirs
    assert state.exit_code == 3
    assert (workdir / local_jobs.EXIT_CODE_FILE).read_text().strip() == "3"
    assert (workdir / "stderr.log").read_text() == "no convergence\n"


def test_job_sees_its_environment_and_runs_in_its_work_directory(tmp_path):
    # given a job with an environment
    workdir = tmp_path / "job"
    local_jobs.launch(workdir, 'echo "$GREETING from $(pwd)" > out.txt', {"GREETING": "hello world"})
    # when it has ended, it saw both
    wait_for(lambda: _exited(workdir))
    assert (workdir / "out.txt").read_text() == f"hello world from {workdir}\n"


def test_command_runs_in_a_shell_of_its_own_and_sees_nothing_of_the_wrapper(tmp_path):
    # given commands that change their shell (options, folder, traps), exit early, or look
    # for the wrapper's arguments and variables
    commands = {
        "exits": "set -e; echo before; false; echo after",
        "moves": "cd /; trap 'echo trapped' EXIT; exit 4",
        "looks": 'echo "$# [$1] [$_ms_command] [$_ms_stat] $0"',
        "misspelt": "no-such-program-here",
    }
    for name, command in commands.items():
        local_jobs.launch(tmp_path / name, command, {})
    states = {name: wait_for(lambda name=name: _exited(tmp_path / name)) for name in commands}
    # then each ended with its own exit code, recorded by the wrapper in the work directory
    assert {name: state.exit_code for name, state in states.items()} == {
        "exits": 1, "moves": 4, "looks": 0, "misspelt": 127}
    assert (tmp_path / "exits" / "stdout.log").read_text() == "before\n"
    assert (tmp_path / "moves" / "stdout.log").read_text() == "trapped\n"
    # and it saw no positional parameters and none of the wrapper's variables
    assert (tmp_path / "looks" / "stdout.log").read_text() == "0 [] [] [] matterstack-job\n"
    # and the shell's own error names the job and the missing program
    assert (tmp_path / "misspelt" / "stderr.log").read_text() == \
        "matterstack-job: 1: eval: no-such-program-here: not found\n"


def test_launching_one_job_twice_runs_its_command_once(tmp_path):
    # given two launches of one work directory, as a resubmission after a crash does
    workdir = tmp_path / "job"
    marker = tmp_path / "marker"
    for _ in range(3):
        local_jobs.launch(workdir, f"echo ran >> {marker}; sleep 0.1", {})
    # when the job has ended
    wait_for(lambda: _exited(workdir))
    # then the command ran exactly once
    assert marker.read_text() == "ran\n"


def test_cancel_kills_the_whole_process_group_including_grandchildren(tmp_path):
    # given a job whose command started a background grandchild
    workdir = tmp_path / "job"
    local_jobs.launch(workdir, "sleep 60 & echo $! > child.pid; sleep 60", {})
    wrapper = read_pid(workdir / local_jobs.CLAIM)
    child = read_pid(workdir / "child.pid")
    assert process_alive(wrapper) and process_alive(child)
    # when the job is cancelled
    local_jobs.cancel(workdir)
    # then every process of the job is gone and the job reads as cancelled
    wait_for(lambda: not process_alive(child) and not process_alive(wrapper), timeout=5, what="the job to die")
    assert local_jobs.observe(workdir).state == "cancelled"


def test_cancel_kills_a_command_that_ignores_sigterm(tmp_path):
    # given a job whose command ignores SIGTERM
    workdir = tmp_path / "job"
    local_jobs.launch(workdir, "trap '' TERM; echo $$ > cmd.pid; sleep 60", {})
    command = read_pid(workdir / "cmd.pid")
    # when the job is cancelled, it is killed after the grace period
    local_jobs.cancel(workdir)
    wait_for(lambda: not process_alive(command), timeout=local_jobs.CANCEL_GRACE_SECONDS + 3,
             what="the command to be killed")


def test_job_cancelled_before_it_starts_never_runs(tmp_path):
    # given a job cancelled before its wrapper ran
    workdir = tmp_path / "job"
    marker = tmp_path / "marker"
    local_jobs.cancel(workdir)
    # when it is launched
    local_jobs.launch(workdir, f"echo ran > {marker}", {})
    wait_for(lambda: local_jobs.was_launched(workdir))
    # then the command never runs and the job reads as cancelled
    wait_for(lambda: not process_alive(read_pid(workdir / local_jobs.CLAIM)))
    assert not marker.exists()
    assert local_jobs.observe(workdir).state == "cancelled"


def test_local_backend_gives_each_job_its_own_id_and_polls_them_together(tmp_path):
    # given a local backend and two jobs
    context = OperatorContext(run_id="r1", run_dir=tmp_path, workspace_slug="ws", host=None)
    backend = LocalBackend(LocalBackendSettings(), context)
    ids = []
    for token, command in (("attempt-1", "true"), ("attempt-2", "exit 4")):
        folder = tmp_path / token
        folder.mkdir()
        ids.append(backend.submit(JobSpec(token=token, command=command, input_dir=folder, relative_dir=token)))
    # when they are polled together until both ended
    def both_exited():
        seen = backend.poll_many(ids)
        return seen if all(job.native_state == "exited" for job in seen.values()) else None

    seen = wait_for(both_exited, what="both jobs to exit")
    # then each has its own id, found again by its token, with its own outcome
    assert ids == ["attempt-1", "attempt-2"]
    assert backend.find_by_token(["attempt-1", "attempt-2", "never"]) == {"attempt-1": "attempt-1",
                                                                          "attempt-2": "attempt-2"}
    assert (seen["attempt-1"].status, seen["attempt-2"].status) == (AttemptStatus.COMPLETED, AttemptStatus.FAILED)
    assert seen["attempt-2"].exit_code == 4
    assert backend.poll_many(["unknown"])["unknown"].status == AttemptStatus.FAILED
