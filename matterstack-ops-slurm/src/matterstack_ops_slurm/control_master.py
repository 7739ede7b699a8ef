"""One login per cluster, kept open by OpenSSH: the ControlMaster connection of an instance
whose ``ssh`` block sets ``control_persist``.

A site that asks for a one-time code after the key cannot be reached by a tick that opens a
connection of its own. So a person logs in once, in a terminal (``matterstack ssh login
KEY``: OpenSSH's own client asks for the code), and OpenSSH keeps that connection as a
master listening on a socket; every command of every tick goes through the socket until the
master has been idle for ``control_persist`` (OpenSSH's ControlPersist). A tick never
prompts: without a live master it says that a login is needed and changes nothing.

The sockets live in one folder per user, ``~/.matterstack/ssh`` (``MATTERSTACK_SSH_CONTROL_DIR``
overrides it), mode 0700, one socket per login node, user, port and key: instances that
reach the same login node the same way share one login.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
from pathlib import Path

import attrs

from matterstack.errors import ConfigError, TransientOperatorError

CONTROL_DIR_ENV = "MATTERSTACK_SSH_CONTROL_DIR"
DEFAULT_CONTROL_DIR = Path(".matterstack") / "ssh"
# sun_path holds 108 bytes; OpenSSH adds a 17-byte random suffix while it creates the socket.
MAX_SOCKET_PATH = 108 - 18
CHECK_TIMEOUT = 10.0
_DURATION = re.compile(r"(?:[0-9]+[sSmMhHdDwW]?)+\Z")


def duration_problem(value) -> str | None:
    """Why ``value`` is no ControlPersist time (``8h``, ``1h30m``, ``3600``), else None."""
    text = str(value)
    # 0 is "for ever" to OpenSSH: a login is never kept without a limit
    if isinstance(value, (bool, float)) or not _DURATION.match(text) or not text.strip("0sSmMhHdDwW"):
        return (f"control_persist takes how long an idle login stays open, such as 8h, 30m or 3600 (seconds), "
                f"not {str(value).lower() if isinstance(value, bool) else value!r}")
    return None


def control_dir() -> Path:
    """The folder of this user's login sockets, made 0700 if missing; ConfigError if it is
    someone else's or others may enter it."""
    folder = Path(os.environ.get(CONTROL_DIR_ENV) or Path.home() / DEFAULT_CONTROL_DIR).expanduser()
    where = f"${CONTROL_DIR_ENV}" if os.environ.get(CONTROL_DIR_ENV) else "ssh.control_persist"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError as exc:
        raise ConfigError(f"cannot make the folder of SSH login sockets {folder}: {exc.strerror or exc}",
                          where=where, fix=f"set {CONTROL_DIR_ENV} to a folder of yours") from exc
    if info.st_uid != os.getuid():
        raise ConfigError(f"the folder of SSH login sockets {folder} belongs to another user", where=where,
                          fix=f"set {CONTROL_DIR_ENV} to a folder of yours")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(folder, 0o700)  # a login socket lets whoever reaches it run commands as you
    return folder


@attrs.frozen
class LoginTarget:
    """How OpenSSH's client reaches one login node; the socket is named after all of it."""

    host: str
    user: str | None = None
    port: int | None = None
    key_path: str | None = None
    known_hosts: str | None = None
    accept_new_host_key: bool = False
    control_persist: str = "8h"
    connect_timeout: float = 15.0

    @property
    def label(self) -> str:
        return f"{self.user + '@' if self.user else ''}{self.host}{':' + str(self.port) if self.port else ''}"

    def socket_path(self) -> Path:
        """The master's socket, in :func:`control_dir`."""
        digest = hashlib.sha256(repr((self.host, self.user, self.port, self.key_path)).encode()).hexdigest()[:20]
        path = control_dir() / f"{digest}.sock"
        if len(str(path).encode()) > MAX_SOCKET_PATH:
            raise ConfigError(f"the SSH login socket path {path} is too long for a Unix socket",
                              where=f"${CONTROL_DIR_ENV}", fix=f"set {CONTROL_DIR_ENV} to a shorter folder, e.g. /tmp/$USER-ssh")
        return path

    def ssh_argv(self, *options: str) -> list[str]:
        """``ssh`` with this target's options, the socket, ``options``, then the host (a
        command, if any, goes after it)."""
        argv = ["ssh", "-o", f"ControlPath={self.socket_path()}", "-o", f"ConnectTimeout={int(self.connect_timeout)}",
                "-o", f"StrictHostKeyChecking={'accept-new' if self.accept_new_host_key else 'yes'}"]
        if self.user:
            argv += ["-l", self.user]
        if self.port:
            argv += ["-p", str(self.port)]
        if self.key_path:
            argv += ["-i", os.path.expanduser(self.key_path), "-o", "IdentitiesOnly=yes"]
        if self.known_hosts:
            argv += ["-o", f"UserKnownHostsFile={os.path.expanduser(self.known_hosts)}"]
        return [*argv, *options, self.host]


@attrs.frozen
class MasterState:
    """What ``ssh -O check`` says of a target's master connection."""

    running: bool
    detail: str


def check(target: LoginTarget) -> MasterState:
    """Whether the master of ``target`` is alive (``ssh -O check``: the socket only, no network)."""
    path = target.socket_path()
    if not path.exists():
        return MasterState(False, "no login open")
    try:
        done = subprocess.run(target.ssh_argv("-O", "check"), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=CHECK_TIMEOUT)
    except subprocess.TimeoutExpired:
        return MasterState(False, f"the login socket {path} does not answer")
    said = " ".join(done.stderr.split())
    if done.returncode == 0:
        return MasterState(True, said or "master running")
    return MasterState(False, "the login has ended (expired or closed)")


def login_needed(target: LoginTarget, instance_key: str | None) -> TransientOperatorError:
    """What a tick says when there is no live master: an outage, fixed by a person."""
    key = instance_key or "<instance key>"
    return TransientOperatorError(
        f"login needed: matterstack ssh login {key}",
        fix=f"run it in a terminal and type your one-time code; ticks reuse that login to {target.label} "
            f"until it has been idle for {target.control_persist}")


def open_master(target: LoginTarget) -> int:
    """Open the master interactively: OpenSSH asks for the key's passphrase and the one-time
    code on this terminal, then goes to the background; the exit code of ``ssh``. A dead
    master's socket is removed first (OpenSSH would otherwise log in without one)."""
    path = target.socket_path()
    if path.exists() and not check(target).running:
        path.unlink(missing_ok=True)
    argv = target.ssh_argv("-o", "ControlMaster=yes", "-o", f"ControlPersist={target.control_persist}",
                           "-o", "BatchMode=no", "-N")
    return subprocess.run(argv).returncode


def close_master(target: LoginTarget) -> bool:
    """Ask the master to exit (``ssh -O exit``); whether one was running."""
    if not check(target).running:
        target.socket_path().unlink(missing_ok=True)
        return False
    subprocess.run(target.ssh_argv("-O", "exit"), capture_output=True, stdin=subprocess.DEVNULL, timeout=CHECK_TIMEOUT)
    return True
