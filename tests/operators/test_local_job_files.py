"""The files a local job's wrapper writes are read safely while it writes them, and the values
it is given (work directory, command) reach the shell as arguments, never as code."""

from __future__ import annotations

import subprocess
from pathlib import Path

from process_watch import wait_for

from matterstack.backends import local_jobs


def claimed_job(tmp_path: Path, pid_line: str) -> Path:
    """A work directory whose wrapper claimed it and wrote ``pid_line`` in the claim ("":
    not yet)."""
    workdir = tmp_path / "job"
    workdir.mkdir(parents=True)
    (workdir / local_jobs.CLAIM).write_text(pid_line)
    return workdir


def pid_line_of(process: subprocess.Popen) -> str:
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[-1].split()
    return f"{process.pid} {fields[19]}\n"


def test_an_exit_code_still_being_written_is_not_read_while_its_wrapper_lives(tmp_path):
    # given a live wrapper whose exit code file exists but is still empty
    wrapper = subprocess.Popen(["sleep", "30"])
    try:
        workdir = claimed_job(tmp_path, pid_line_of(wrapper))
        (workdir / local_jobs.EXIT_CODE_FILE).write_text("")
        # then the job is running
        assert local_jobs.observe(workdir).state == "running"
    finally:
        wrapper.kill()
        wrapper.wait()
    # and once the wrapper is gone with the file still empty, the job is lost, saying why
    state = local_jobs.observe(workdir)
    assert (state.state, state.reason) == ("lost", f"{workdir / 'exit_code'} holds '', not an exit code")


def test_an_exit_code_without_its_newline_is_read_once_no_writer_is_left(tmp_path):
    # given a job whose exit code was written without a newline (by hand, or an older wrapper)
    workdir = claimed_job(tmp_path, "")
    (workdir / local_jobs.EXIT_CODE_FILE).write_text("3")
    # then it reads as exited with that code
    assert local_jobs.observe(workdir) == local_jobs.LocalJobState("exited", exit_code=3)


def test_a_pid_file_still_being_written_reads_as_starting(tmp_path):
    workdir = claimed_job(tmp_path, "")
    assert local_jobs.observe(workdir) == local_jobs.LocalJobState("queued", reason="the process is starting")


def test_work_directory_and_command_reach_the_shell_as_values(tmp_path):
    # given a work directory whose name holds shell syntax, and a command with quotes
    workdir = tmp_path / "it's $(touch pwned) `x` dir"
    local_jobs.launch(workdir, "printf '%s\\n' \"it's\" > out.txt", {})
    # when the job has ended, it ran there, as written, and nothing else ran
    state = wait_for(lambda: local_jobs.observe(workdir) if local_jobs.observe(workdir).state == "exited" else None)
    assert state.exit_code == 0
    assert (workdir / "out.txt").read_text() == "it's\n"
    assert not (tmp_path / "pwned").exists() and not (workdir / "pwned").exists()
