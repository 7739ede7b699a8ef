"""Detached shell processes, found again by the attempt token.

A process keeps its state in the instance's job folder, in files named after its token:

- ``<token>.pid``: its process group id, created with O_EXCL (``set -C``) by the process
  itself before it runs anything, so a second launch for one token runs nothing;
- ``<token>.exit``: the command's exit code, renamed into place when the command ends;
- ``<token>.cancelled``: written by :func:`cancel`; a process not started yet runs nothing.

The command runs in the attempt directory, its output going to ``stdout.log`` and ``stderr.log``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

CANCEL_GRACE_SECONDS = 2.0

# Run as ``/bin/sh -c _WRAPPER matterstack-shell <jobs> <token> <shell> <command>``: the
# values are arguments, never parsed as shell code. The subshell is left running in the
# background, so the launching ``sh`` exits at once and the job outlives the CLI; its ``$$``
# is the launching shell's pid, which is the job's process group (a new session).
_WRAPPER = """\
jobs=$1 token=$2 shell=$3 command=$4
(
  set -C
  echo "$$" > "$jobs/$token.pid" || exit 0
  set +C
  [ -e "$jobs/$token.cancelled" ] && exit 0
  "$shell" -c "$command" > stdout.log 2> stderr.log < /dev/null
  echo "$?" > "$jobs/$token.exit.tmp" && mv "$jobs/$token.exit.tmp" "$jobs/$token.exit"
) > /dev/null 2>&1 < /dev/null &
"""


class JobState(NamedTuple):
    """What a job's files say: ``state`` is starting, running, exited, cancelled or lost."""

    state: str
    exit_code: int | None = None
    pgid: int | None = None


def launch(jobs: Path, token: str, shell: str, command: str, workdir: Path, env: dict[str, str]) -> None:
    """Start ``command`` under ``shell`` in ``workdir`` as a detached process group; return at once."""
    jobs = jobs.absolute()  # the process runs in workdir
    jobs.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["/bin/sh", "-c", _WRAPPER, "matterstack-shell", str(jobs), token, shell, command],
        cwd=workdir, env={**os.environ, **env}, start_new_session=True, check=True,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def known(jobs: Path, tokens: list[str]) -> set[str]:
    """The tokens whose process has claimed its pid file (it has started, or even ended)."""
    return {token for token in tokens if (jobs / f"{token}.pid").exists()}


def observe(jobs: Path, tokens: list[str]) -> dict[str, JobState]:
    """The state of every token's job, from one listing of the job folder."""
    try:
        names = set(os.listdir(jobs))
    except FileNotFoundError:
        names = set()
    groups: set[int] | None = None
    states = {}
    for token in tokens:
        pgid = _number(jobs / f"{token}.pid") if f"{token}.pid" in names else None
        if f"{token}.exit" in names:
            states[token] = JobState("exited", _number(jobs / f"{token}.exit"), pgid)
        elif f"{token}.cancelled" in names:
            states[token] = JobState("cancelled", pgid=pgid)
        elif pgid is None:
            states[token] = JobState("starting")
        else:
            groups = _live_process_groups() if groups is None else groups
            if pgid in groups:
                states[token] = JobState("running", pgid=pgid)
            elif (jobs / f"{token}.exit").exists():  # it ended after the listing
                states[token] = JobState("exited", _number(jobs / f"{token}.exit"), pgid)
            else:
                states[token] = JobState("lost", pgid=pgid)
    return states


def cancel(jobs: Path, token: str) -> None:
    """Stop the job's whole process group: SIGTERM, then SIGKILL after a short grace period."""
    jobs.mkdir(parents=True, exist_ok=True)
    (jobs / f"{token}.cancelled").touch()
    pgid = _number(jobs / f"{token}.pid")
    if pgid is None or (jobs / f"{token}.exit").exists():
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + CANCEL_GRACE_SECONDS
        while pgid in _live_process_groups() and time.monotonic() < deadline:
            time.sleep(0.02)


def _number(path: Path) -> int | None:
    """The integer a small file holds; None while it is missing or still being written."""
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _live_process_groups() -> set[int]:
    """Process groups with a live (not zombie) member, from /proc (Linux)."""
    groups = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if len(fields) > 2 and fields[0] != "Z":  # after the name: state, ppid, pgrp
            groups.add(int(fields[2]))
    return groups
