"""Detached local jobs: start, observe and stop a command that outlives the CLI.

A job lives entirely in its work directory, so any later process can poll it:

- ``.matterstack``          the claim: a file created with O_EXCL by the wrapper before the
  command runs, holding the wrapper's pid. A second launch of the same job (a resubmission
  after a crash) finds it and exits without running anything: execution is exactly-once even
  if submission is not. A live process of that pid counts as the job only if its command line
  is this job's wrapper's (see :func:`_alive`), so a reused pid never does.
- ``.matterstack-cancel``   written by :func:`cancel`; a wrapper that finds it after claiming
  runs nothing;
- ``exit_code``             written by the wrapper when the command ends;
- ``stdout.log``, ``stderr.log``;
- ``.matterstack-relaunched`` written by :func:`forget_unstarted` before a job that never
  started is launched again (once).

"Starting" has a bound: a claim without its pid line (the wrapper could not write it, as on a
full disk) for :data:`STARTING_LIMIT_SECONDS` after the claim last changed, with no live
wrapper of this work directory, means the job never started and nothing of it ran (the
wrapper runs the command only after its pid is written). A work directory without a claim
stays "not started yet": MatterStack 0.2.x ran jobs without one.
:func:`observe` then says ``unstarted``, and the caller may launch it again once; a job that
never starts twice is ``lost``.

Jobs started by earlier versions kept their claim in a ``.matterstack/`` folder: ``pid``
(holding the wrapper's pid, or its pid and start time), or an empty ``claim`` written before
the pid file, and ``cancelled``. Those are still read and honoured, and a wrapper that finds
such a folder without a claim (a launch by an earlier version that never ran) claims inside it.

The job id is the token the caller gives (the attempt id), so a job is found by token.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import deque
from pathlib import Path

import attrs

CLAIM = ".matterstack"
CANCEL_MARKER = ".matterstack-cancel"
EXIT_CODE_FILE = "exit_code"
CANCEL_GRACE_SECONDS = 2.0
STARTING_LIMIT_SECONDS = 60.0
"""How long after its claim (or work directory) last changed a job may still be starting."""
RELAUNCHED = ".matterstack-relaunched"
JOB_NAME = "matterstack-job"
"""The wrapper's ``$0``: its command line is how a live job is told from a reused pid."""
LEGACY_PID = "pid"
LEGACY_CLAIM = "claim"
LEGACY_CANCEL = "cancelled"
"""In the ``.matterstack/`` folder of jobs started by earlier versions."""

# The wrapper, run as ``/bin/sh -c _WRAPPER matterstack-job <workdir> <command>`` (the values
# are arguments, never parsed as shell code). The claim is the pid file, created with
# noclobber (O_EXCL) so that two launches of one job can never both run the command, and
# written in the same step, in the work directory itself (each new file or folder costs a
# creation, up to a millisecond on some disks). A ``.matterstack`` folder is an earlier
# version's launch: its claim, if any, wins; else the wrapper claims inside it, where that
# version's wrapper would. The pid is recorded before the cancellation markers are looked at:
# a ``cancel`` that finds no pid yet is then sure to be seen. Besides the command only shell
# built-ins run (each extra process costs about as much as a short command), and the pid and
# exit code files are each written by one ``echo``, one line ended by a newline in one write; a
# reader takes a file without its newline for one still being written while the wrapper lives
# (see :func:`observe`), so it never acts on a half-written value. The command is evaluated in
# a subshell of the wrapper (a fork, no second shell to exec): ``exit`` in it ends the subshell
# only, so the exit code is always recorded; it sees no positional parameters and none of the
# wrapper's variables (``$0`` is ``matterstack-job``, which also prefixes the shell's own
# error messages).
_WRAPPER = f"""\
cd "$1" || exit 97
_ms_command=$2
_ms_claim={CLAIM}
if [ -d {CLAIM} ]; then
  [ -e {CLAIM}/{LEGACY_CLAIM} ] && exit 0
  _ms_claim={CLAIM}/{LEGACY_PID}
fi
set -C
echo "$$" 2>/dev/null > "$_ms_claim" || exit 0
set +C
[ -e {CANCEL_MARKER} ] || [ -e {CLAIM}/{LEGACY_CANCEL} ] && exit 0
set --
(eval "unset _ms_command _ms_claim; $_ms_command") > stdout.log 2> stderr.log < /dev/null
echo "$?" > {EXIT_CODE_FILE}
"""


@attrs.frozen
class LocalJobState:
    """What a local job's files say about it right now."""

    state: str  # "queued", "running", "exited", "cancelled", "unstarted", "lost"
    exit_code: int | None = None
    reason: str = ""
    pid: int | None = attrs.field(default=None, eq=False)
    """The wrapper's pid while the job runs: its process group."""


# Wrappers this process started and has not collected yet. Kept here rather than left to
# ``subprocess``, which checks every unfinished child it forgot about on each new launch
# (quadratic with many long jobs); a few are checked per launch and per observation instead.
_unreaped: deque[subprocess.Popen] = deque()


def _reap_some(checks: int = 4) -> None:
    for _ in range(checks):
        try:  # launches may run in several threads: each process is taken by one of them
            process = _unreaped.popleft()
        except IndexError:
            return
        if process.poll() is None:
            _unreaped.append(process)


def launch(workdir: Path, command: str, env: dict[str, str]) -> None:
    """Start ``command`` in ``workdir`` as a detached process group; return at once.

    Safe to call twice for one work directory: only the first launch runs the command.
    """
    os.makedirs(workdir, exist_ok=True)
    _unreaped.append(subprocess.Popen(
        ["/bin/sh", "-c", _WRAPPER, JOB_NAME, str(workdir), command],
        cwd=workdir,
        env={**os.environ, **env} if env else None,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    ))
    _reap_some()


def was_launched(workdir: Path) -> bool:
    """True once the job's wrapper has claimed it (the command has started or ended)."""
    return _claim_text(workdir) is not None


def _claim_text(workdir: Path) -> str | None:
    """The claim's text: the wrapper's pid line, ``""`` while it is being written, None while
    the job is not claimed. Read once: it may be written at any moment."""
    claim = workdir / CLAIM
    try:
        return _read(claim)
    except IsADirectoryError:  # a job started by an earlier version
        text = _read(claim / LEGACY_PID)
        if text is None and (claim / LEGACY_CLAIM).exists():
            return ""
        return text


def _cancel_requested(workdir: Path) -> bool:
    return os.path.exists(os.path.join(workdir, CANCEL_MARKER)) or (
        os.path.exists(os.path.join(workdir, CLAIM, LEGACY_CANCEL)))


def observe(workdir: Path) -> LocalJobState:
    """Read a job's state from its files; never blocks, never raises for a missing job."""
    _reap_some()
    exit_file = workdir / EXIT_CODE_FILE
    text = _read(exit_file)
    # Without its newline the exit code may still be being written, unless its writer is gone;
    # then it is read again: the writer may have finished it between the two looks.
    if text is not None and not text.endswith("\n") and _live_pid(workdir) is None:
        text = _read(exit_file)
        complete = text is not None
    else:
        complete = text is not None and text.endswith("\n")
    if complete:
        try:
            return LocalJobState("exited", exit_code=int(text.strip()))
        except ValueError:
            return LocalJobState("lost", reason=f"{exit_file} holds {text.strip()!r}, not an exit code")
    if _cancel_requested(workdir):
        return LocalJobState("cancelled", reason="cancelled by request")
    pid_line = _claim_text(workdir)
    if pid_line is None:
        if os.path.exists(os.path.join(workdir, RELAUNCHED)):  # launched again, or about to be
            return _starting_or_unstarted(workdir, RELAUNCHED)
        return LocalJobState("queued", reason="the process has not started yet")
    if not pid_line.endswith("\n"):
        return _starting_or_unstarted(workdir, CLAIM)
    pid = _alive(pid_line, workdir)
    if pid is not None:
        return LocalJobState("running", reason=f"process {pid} running", pid=pid)
    if exit_file.exists():  # the job ended between the checks above
        return observe(workdir)
    return LocalJobState("lost", reason="the process ended without recording an exit code")


def _starting_or_unstarted(workdir: Path, since: str) -> LocalJobState:
    """A job claimed without a pid (``since`` the claim), or not claimed again since it was
    cleared (``since`` the mark of that): starting while it may still be; past the bound,
    with no live wrapper of ``workdir``, ``unstarted`` (``lost`` once it was launched again
    and never started)."""
    starting = LocalJobState("queued", reason="the process is starting")
    try:
        changed = os.stat(workdir / since).st_mtime
    except FileNotFoundError:  # changed a moment ago: read it all again
        return observe(workdir)
    if time.time() - changed < STARTING_LIMIT_SECONDS or _wrapper_alive(workdir):
        return starting
    what = ("its wrapper could not write its pid to .matterstack" if since == CLAIM
            else "it was not claimed after it was launched again")
    if os.path.exists(os.path.join(workdir, RELAUNCHED)):
        return LocalJobState("lost", reason=f"the job never started, twice: {what} within "
                             f"{STARTING_LIMIT_SECONDS:.0f} s (a full disk?); nothing ran")
    return LocalJobState("unstarted", reason=f"the job never started: {what} within "
                         f"{STARTING_LIMIT_SECONDS:.0f} s (a full disk?); nothing ran")


def forget_unstarted(workdir: Path) -> None:
    """Clear the claim of a job :func:`observe` found ``unstarted``, so that launching it
    again runs it; the mark this leaves makes a second such job ``lost``. OSError (the mark
    could not be written) leaves the claim as it was."""
    fd = os.open(os.path.join(workdir, RELAUNCHED), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    claim = workdir / CLAIM
    if claim.is_dir():  # an earlier version's launch: its empty claim or pid file inside
        for name in (LEGACY_CLAIM, LEGACY_PID):
            (claim / name).unlink(missing_ok=True)
    else:
        claim.unlink(missing_ok=True)


def _wrapper_alive(workdir: Path) -> bool:
    """Whether a live process is the wrapper of the job in ``workdir`` (by its command line,
    as :func:`_alive` tells; a wrapper that never wrote its pid is found this way only)."""
    name = os.fsencode(workdir.name)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 4 and argv[3] == JOB_NAME.encode() and os.path.basename(argv[4]) == name:
            return True
    return False


def cancel(workdir: Path) -> None:
    """Stop the job's whole process group (the wrapper and everything it started).

    SIGTERM first; whatever is still alive after a short grace period gets SIGKILL.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / CANCEL_MARKER).write_text("")
    legacy = workdir / CLAIM
    if legacy.is_dir():  # an earlier version's wrapper, if it has yet to claim, looks here
        (legacy / LEGACY_CANCEL).write_text("")
    pid = _live_pid(workdir)
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


def _read(path: Path) -> str | None:
    """A small file's text, or None if it does not exist."""
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _live_pid(workdir: Path) -> int | None:
    """The wrapper's pid if that very process is still alive."""
    return _alive(_claim_text(workdir), workdir)


def _alive(pid_line: str | None, workdir: Path) -> int | None:
    """The pid of a pid file's line if that very process is still alive: the wrapper of the
    job in ``workdir``, by its command line (``/bin/sh -c <wrapper> matterstack-job <workdir>
    <command>``; only the work directory's name is compared, so a run folder moved while its
    jobs run still finds them), or for a line an earlier version wrote, by its start time.
    A zombie has no command line, and a pid reused by another process has another one."""
    try:
        pid_text, _, started = (pid_line or "").strip().partition(" ")
        pid = int(pid_text)
    except ValueError:
        return None
    if started:
        return pid if _started_at(pid) == started else None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        return None
    if len(argv) > 4 and argv[3] == JOB_NAME.encode() and os.path.basename(argv[4]) == os.fsencode(workdir.name):
        return pid
    return None


def _started_at(pid: int) -> str | None:
    """A live (not zombie) process's start time, field 22 of /proc/<pid>/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    # After the ")"-terminated name: the state first, the start time at index 19.
    if len(fields) <= 19 or fields[0] == "Z":
        return None
    return fields[19]
