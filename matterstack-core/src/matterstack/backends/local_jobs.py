"""Detached local jobs: start, observe and stop a command that outlives the CLI.

A job lives entirely in its work directory, so any later process can poll it:

- ``.matterstack/job.sh``   the wrapper, written before launch;
- ``.matterstack/claim``    created with O_EXCL by the wrapper before the command runs. A
  second launch of the same job (a resubmission after a crash) finds the claim and exits
  without running anything: execution is exactly-once even if submission is not;
- ``.matterstack/pid``      the wrapper's pid and its start time (guards against pid reuse);
- ``exit_code``             written atomically by the wrapper when the command ends;
- ``stdout.log``, ``stderr.log``.

The job id is the token the caller gives (the attempt id), so a job is found by token.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import attrs

CONTROL_DIR = ".matterstack"
EXIT_CODE_FILE = "exit_code"
CANCEL_FILE = "cancelled"
CANCEL_GRACE_SECONDS = 2.0

# The claim is taken with noclobber (O_EXCL) so that two launches of one job can never both
# run the command. The pid file and the exit code go through a temporary file and a rename
# so a reader never sees a half-written one. The pid is recorded before the cancellation
# file is looked at: a ``cancel`` that finds no pid yet is then sure to be seen.
_WRAPPER = """\
#!/bin/sh
cd {workdir} || exit 97
set -C
( : > {control}/claim ) 2>/dev/null || exit 0
set +C
echo "$$ $(cut -d' ' -f22 /proc/$$/stat 2>/dev/null)" > {control}/pid.tmp && mv {control}/pid.tmp {control}/pid
[ -e {control}/{cancel} ] && exit 0
/bin/sh -c {command} > stdout.log 2> stderr.log < /dev/null
code=$?
echo "$code" > {control}/exit_code.tmp && mv {control}/exit_code.tmp {exit_code}
"""


@attrs.frozen
class LocalJobState:
    """What a local job's files say about it right now."""

    state: str  # "queued", "running", "exited", "cancelled", "lost"
    exit_code: int | None = None
    reason: str = ""


def launch(workdir: Path, command: str, env: dict[str, str]) -> None:
    """Start ``command`` in ``workdir`` as a detached process group; return at once.

    Safe to call twice for one work directory: only the first launch runs the command.
    """
    control = workdir / CONTROL_DIR
    control.mkdir(parents=True, exist_ok=True)
    wrapper = control / "job.sh"
    # A new file replaces the old one: a wrapper of an earlier launch may still be reading it.
    staged = control / f".job.sh.{os.getpid()}"
    staged.write_text(
        _WRAPPER.format(
            workdir=shlex.quote(str(workdir)),
            control=shlex.quote(CONTROL_DIR),
            command=shlex.quote(command),
            exit_code=shlex.quote(EXIT_CODE_FILE),
            cancel=shlex.quote(CANCEL_FILE),
        )
    )
    os.replace(staged, wrapper)
    full_env = {**os.environ, **env}
    subprocess.Popen(
        ["/bin/sh", str(wrapper)],
        cwd=workdir,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def was_launched(workdir: Path) -> bool:
    """True once the job's wrapper has claimed it (the command has started or ended)."""
    return (workdir / CONTROL_DIR / "claim").exists()


def observe(workdir: Path) -> LocalJobState:
    """Read a job's state from its files; never blocks, never raises for a missing job."""
    control = workdir / CONTROL_DIR
    exit_file = workdir / EXIT_CODE_FILE
    if exit_file.exists():
        text = exit_file.read_text().strip()
        try:
            return LocalJobState("exited", exit_code=int(text))
        except ValueError:
            return LocalJobState("lost", reason=f"{exit_file} holds {text!r}, not an exit code")
    if (control / CANCEL_FILE).exists():
        return LocalJobState("cancelled", reason="cancelled by request")
    if not (control / "claim").exists():
        return LocalJobState("queued", reason="the process has not started yet")
    pid = _live_pid(control)
    if pid is not None:
        return LocalJobState("running", reason=f"process {pid} running")
    if exit_file.exists():  # the job ended between the two checks above
        return observe(workdir)
    if not (control / "pid").exists():
        return LocalJobState("queued", reason="the process is starting")
    return LocalJobState("lost", reason="the process ended without recording an exit code")


def cancel(workdir: Path) -> None:
    """Stop the job's whole process group (the wrapper and everything it started).

    SIGTERM first; whatever is still alive after a short grace period gets SIGKILL.
    """
    control = workdir / CONTROL_DIR
    control.mkdir(parents=True, exist_ok=True)
    (control / CANCEL_FILE).write_text("")
    pid = _live_pid(control)
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + CANCEL_GRACE_SECONDS
    while _group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if _group_alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _group_alive(pgid: int) -> bool:
    """Whether any live (not zombie) process is still in process group ``pgid``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        # After the name: state, ppid, pgrp.
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _live_pid(control: Path) -> int | None:
    """The wrapper's pid if that very process (same start time) is still alive."""
    try:
        pid_text, _, started = (control / "pid").read_text().strip().partition(" ")
        pid = int(pid_text)
    except (FileNotFoundError, ValueError):
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    # /proc/<pid>/stat field 22 (start time) is index 19 after the ")"-terminated name.
    if started and len(fields) > 19 and fields[19] != started:
        return None
    if len(fields) > 0 and fields[0] == "Z":
        return None
    return pid
