"""Where Slurm commands run and files move: a local shell, or SSH through fabric.

The scheduler module builds command lines; a transport runs them (as aiida separates a
scheduler from its transport). Both transports take one shell command line, return its exit
code and output, and copy files between a local folder and a work directory on the cluster.

SSH: one fabric connection per (host, user, port, key, known_hosts, policy) per process,
kept in a module-level cache and reused across ticks; ``~/.ssh/config`` is honoured (host
aliases, User, Port, IdentityFile, ProxyJump, UserKnownHostsFile); the host key is checked
against known_hosts, and an unknown key is refused unless ``accept_new_host_key``. fabric is
imported only when an SSH transport connects. Every failure to reach the cluster raises
:class:`TransientOperatorError` with one line saying what and how to fix it: the attempt is
left as it is and a later tick retries.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import socket
import stat
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import attrs

from matterstack.errors import TransientOperatorError
from matterstack_ops_slurm.child_process import LineSplitter, run_piped

CONTROL_DIR = ".matterstack"


@attrs.frozen
class CommandResult:
    """What a command said: exit code, standard output and standard error."""

    exit_code: int
    stdout: str
    stderr: str


def wanted(name: str, include: list[str] | None, exclude: list[str] | None) -> bool:
    """Whether relative file ``name`` passes the include globs (default: all) and no exclude glob."""
    return any(fnmatch.fnmatch(name, g) for g in (include or ["*"])) and not any(
        fnmatch.fnmatch(name, g) for g in (exclude or [])
    )


def selected(name: str, include: list[str] | None, exclude: list[str] | None) -> bool:
    """Whether relative file ``name`` of a work directory comes back: it passes the globs, or
    it is one of the job's control files (exit code, Slurm's own output), which always do."""
    return name.startswith(CONTROL_DIR + "/") or wanted(name, include, exclude)


class Transport:
    """Runs shell command lines on the cluster and moves files to and from it."""

    label = "cluster"
    round_trips = 0
    """Commands and file operations sent so far (a benchmark's and a test's measure of how
    chatty a tick is; each costs at least one network round trip over SSH)."""

    def run(self, command: str, timeout: float) -> CommandResult:
        """Run ``command`` (one shell command line); raise TransientOperatorError if the
        cluster cannot be reached or the command outlives ``timeout`` seconds."""
        raise NotImplementedError

    def run_streaming(self, command: str, stdin: BinaryIO, on_line: Callable[[str], None],
                      timeout: float) -> CommandResult:
        """Run ``command`` with ``stdin`` (a binary file, read to its end) as its standard
        input, calling ``on_line`` for each line of its standard output as soon as the line
        arrives (in the calling thread); the result holds the exit code and standard error
        (its ``stdout`` is empty). One round trip whatever the size of either stream. Raise
        TransientOperatorError if the cluster cannot be reached or ``timeout`` seconds pass
        without a line."""
        lines = LineSplitter(on_line)
        result = self.run_piped(command, stdin, lines, timeout)
        lines.end()
        return result

    def run_to_file(self, command: str, stdin: BinaryIO | None, out: BinaryIO, timeout: float) -> CommandResult:
        """Run ``command`` with ``stdin`` (a binary file, read to its end; None: nothing) as its
        standard input, writing its standard output, bytes as they come, to ``out``; the
        result holds the exit code and standard error (its ``stdout`` is empty). One round
        trip whatever the size of either stream. Raise TransientOperatorError if the cluster
        cannot be reached or ``timeout`` seconds pass without output."""
        return self.run_piped(command, stdin, out.write, timeout)

    def run_piped(self, command: str, stdin: BinaryIO | None, on_chunk: Callable[[bytes], None],
                  timeout: float) -> CommandResult:
        """What :meth:`run_streaming` and :meth:`run_to_file` do: run ``command`` with ``stdin``
        and hand each chunk of its standard output to ``on_chunk`` as it arrives."""
        raise NotImplementedError

    def upload(self, local_dir: Path, remote_dir: str) -> None:
        """Copy the files under ``local_dir`` into ``remote_dir``, creating it."""
        raise NotImplementedError

    def write_text(self, remote_path: str, text: str) -> None:
        """Write ``text`` to ``remote_path``, creating its folder."""
        raise NotImplementedError

    def download(self, remote_dir: str, dest: Path, include: list[str] | None, exclude: list[str] | None) -> None:
        """Copy the files under ``remote_dir`` passing the globs into ``dest``."""
        raise NotImplementedError

    def home(self) -> str:
        """The remote user's home folder, for a ``workspace_root`` starting with ``~``."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the transport holds open."""


class LocalTransport(Transport):
    """Commands through ``/bin/sh`` on this machine (the orchestrator runs on a login node)."""

    label = "local shell"

    def run(self, command: str, timeout: float) -> CommandResult:
        self.round_trips += 1
        try:
            done = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise TransientOperatorError(f"local shell: command timed out after {timeout:g} s: {command[:80]}",
                                         fix="check that slurmctld answers (`sinfo`)") from exc
        return CommandResult(done.returncode, done.stdout, done.stderr)

    def run_piped(self, command: str, stdin: BinaryIO | None, on_chunk, timeout: float) -> CommandResult:
        self.round_trips += 1
        try:
            code, errors = run_piped(["/bin/sh", "-c", command], stdin, on_chunk, timeout)
        except TimeoutError as exc:
            raise TransientOperatorError(f"local shell: no answer for {timeout:g} s from: {command[:80]}",
                                         fix="check that slurmctld answers (`sinfo`)") from exc
        return CommandResult(code, "", errors)

    def upload(self, local_dir: Path, remote_dir: str) -> None:
        target = Path(remote_dir)
        target.mkdir(parents=True, exist_ok=True)
        if target.resolve() == Path(local_dir).resolve():
            return
        for entry in Path(local_dir).iterdir():
            if entry.is_dir():
                shutil.copytree(entry, target / entry.name, dirs_exist_ok=True)
            else:
                shutil.copy2(entry, target / entry.name)

    def write_text(self, remote_path: str, text: str) -> None:
        path = Path(remote_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def download(self, remote_dir: str, dest: Path, include, exclude) -> None:
        source = Path(remote_dir)
        if not source.is_dir() or source.resolve() == Path(dest).resolve():
            return
        for path in sorted(source.rglob("*")):
            name = path.relative_to(source).as_posix()
            if path.is_symlink() or not path.is_file() or not selected(name, include, exclude):
                continue
            target = Path(dest) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)

    def home(self) -> str:
        return str(Path.home())


@attrs.frozen
class SshTarget:
    """Where and how to connect; the key of the process-wide connection cache."""

    host: str
    user: str | None = None
    port: int | None = None
    key_path: str | None = None
    known_hosts: str | None = None
    accept_new_host_key: bool = False
    connect_timeout: float = 15.0


_CONNECTIONS: dict[SshTarget, object] = {}


class SshTransport(Transport):
    """Commands and SFTP over one cached fabric connection to a login node."""

    def __init__(self, target: SshTarget):
        self.target = target
        self.label = f"{target.user + '@' if target.user else ''}{target.host}{':' + str(target.port) if target.port else ''}"

    def _connection(self):
        conn = _CONNECTIONS.get(self.target)
        if conn is not None and conn.is_connected:
            return conn
        if conn is not None:
            self._forget()
        conn = _connect(self.target)
        _CONNECTIONS[self.target] = conn
        return conn

    def _forget(self) -> None:
        conn = _CONNECTIONS.pop(self.target, None)
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a dead connection may raise anything; it is gone either way
                pass

    def _dropped(self, exc: Exception, doing: str) -> TransientOperatorError:
        self._forget()
        return TransientOperatorError(f"ssh {self.label}: connection lost while {doing} ({type(exc).__name__}: {exc})",
                                      fix="nothing to do: the next tick reconnects")

    def run(self, command: str, timeout: float) -> CommandResult:
        from invoke.exceptions import CommandTimedOut

        self.round_trips += 1
        conn = self._connection()
        try:
            result = conn.run(command, hide=True, warn=True, in_stream=False, timeout=timeout)
        except CommandTimedOut as exc:
            raise TransientOperatorError(f"ssh {self.label}: command timed out after {timeout:g} s: {command[:80]}",
                                         fix="check that slurmctld answers (`sinfo` on the login node)") from exc
        except (OSError, EOFError, _paramiko_errors()) as exc:
            raise self._dropped(exc, "running a command") from exc
        return CommandResult(result.exited, result.stdout, result.stderr)

    def run_piped(self, command: str, stdin: BinaryIO | None, on_chunk, timeout: float) -> CommandResult:
        self.round_trips += 1
        try:
            channel = self._connection().client.get_transport().open_session(timeout=timeout)
            channel.settimeout(timeout)
            channel.exec_command(command)
        except (OSError, EOFError, _paramiko_errors()) as exc:
            raise self._dropped(exc, "starting a command") from exc
        feeder = threading.Thread(target=_feed, args=(channel, stdin), name="matterstack-ssh-stdin", daemon=True)
        feeder.start()
        try:
            while chunk := channel.recv(65536):
                on_chunk(chunk)
            errors = b""
            while chunk := channel.recv_stderr(65536):
                errors += chunk
            code = channel.recv_exit_status()
        except socket.timeout as exc:
            channel.close()
            raise TransientOperatorError(f"ssh {self.label}: no answer for {timeout:g} s from: {command[:80]}",
                                         fix="check that slurmctld answers (`sinfo` on the login node)") from exc
        except (OSError, EOFError, _paramiko_errors()) as exc:
            raise self._dropped(exc, "running a command") from exc
        finally:
            feeder.join(timeout)
        channel.close()
        return CommandResult(code, "", errors.decode(errors="replace"))

    def _sftp(self):
        try:
            return self._connection().sftp()
        except (OSError, EOFError, _paramiko_errors()) as exc:
            raise self._dropped(exc, "opening SFTP") from exc

    def upload(self, local_dir: Path, remote_dir: str) -> None:
        sftp = self._sftp()
        try:
            _sftp_makedirs(sftp, remote_dir)
            for path in sorted(Path(local_dir).rglob("*")):
                relative = path.relative_to(local_dir)
                if path.is_symlink():
                    continue
                remote = f"{remote_dir}/{relative.as_posix()}"
                self.round_trips += 1
                if path.is_dir():
                    _sftp_makedirs(sftp, remote)
                elif path.is_file():
                    sftp.put(str(path), remote)
        except (OSError, EOFError, _paramiko_errors()) as exc:
            raise self._dropped(exc, f"uploading to {remote_dir}") from exc

    def write_text(self, remote_path: str, text: str) -> None:
        sftp = self._sftp()
        try:
            _sftp_makedirs(sftp, str(PurePosixPath(remote_path).parent))
            with sftp.open(remote_path, "w") as handle:
                handle.write(text)
        except (OSError, EOFError, _paramiko_errors()) as exc:
            raise self._dropped(exc, f"writing {remote_path}") from exc

    def download(self, remote_dir: str, dest: Path, include, exclude) -> None:
        sftp = self._sftp()
        try:
            for name in _sftp_walk(sftp, remote_dir, ""):
                if selected(name, include, exclude):
                    self.round_trips += 1
                    target = Path(dest) / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    sftp.get(f"{remote_dir}/{name}", str(target))
        except FileNotFoundError:
            return
        except (OSError, EOFError, _paramiko_errors()) as exc:
            raise self._dropped(exc, f"downloading from {remote_dir}") from exc

    def home(self) -> str:
        try:
            return self._sftp().normalize(".")
        except (OSError, EOFError, _paramiko_errors()) as exc:
            raise self._dropped(exc, "finding the home folder") from exc

    def close(self) -> None:
        self._forget()


def close_all() -> None:
    """Close every cached SSH connection of this process."""
    for target in list(_CONNECTIONS):
        SshTransport(target).close()


def _feed(channel, stdin: BinaryIO | None) -> None:
    """Send ``stdin`` (None: nothing) to the channel, then its end (from a thread of its own,
    while the caller reads what the command answers)."""
    try:
        while stdin is not None and (chunk := stdin.read(1 << 16)):
            channel.sendall(chunk)
        channel.shutdown_write()
    except (OSError, EOFError):  # the command ended or the connection dropped: the reader says so
        return


def _paramiko_errors() -> type:
    import paramiko

    return paramiko.SSHException


def _sftp_makedirs(sftp, path: str) -> None:
    current = ""
    for part in PurePosixPath(path).parts:
        current = part if not current else ("/" + part if current == "/" else f"{current}/{part}")
        try:
            sftp.stat(current)
        except FileNotFoundError:
            sftp.mkdir(current)


def _sftp_walk(sftp, root: str, prefix: str):
    """Relative names of the regular files under ``root`` (symlinks are not followed)."""
    for entry in sftp.listdir_attr(f"{root}/{prefix}" if prefix else root):
        name = f"{prefix}{entry.filename}"
        if stat.S_ISDIR(entry.st_mode):
            yield from _sftp_walk(sftp, root, name + "/")
        elif stat.S_ISREG(entry.st_mode):
            yield name


def _known_hosts_file(target: SshTarget, ssh_config: dict) -> Path:
    configured = target.known_hosts or (ssh_config.get("userknownhostsfile") or "").split(" ")[0]
    return Path(os.path.expanduser(configured or "~/.ssh/known_hosts"))


def _connect(target: SshTarget):
    """Open a fabric connection with strict host key checking; one-line errors."""
    import paramiko
    from fabric import Config, Connection

    config = Config(overrides={"run": {"in_stream": False}})
    connect_kwargs = {"key_filename": os.path.expanduser(target.key_path)} if target.key_path else {}
    if target.key_path and not Path(connect_kwargs["key_filename"]).is_file():
        raise TransientOperatorError(f"ssh {target.host}: key file {target.key_path} does not exist",
                                     fix="correct ssh.key_path, or leave it out to use the agent")
    conn = Connection(target.host, user=target.user, port=target.port, config=config,
                      connect_timeout=target.connect_timeout, connect_kwargs=connect_kwargs)
    where = f"{conn.user}@{conn.host}:{conn.port}"
    known_hosts = _known_hosts_file(target, conn.ssh_config)
    if not known_hosts.exists() and target.accept_new_host_key:
        known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        known_hosts.touch(mode=0o600)
    if known_hosts.exists():
        conn.client.load_host_keys(str(known_hosts))
    policy = paramiko.AutoAddPolicy() if target.accept_new_host_key else paramiko.RejectPolicy()
    conn.client.set_missing_host_key_policy(policy)
    try:
        conn.open()
    except paramiko.BadHostKeyException as exc:
        raise TransientOperatorError(
            f"ssh {where}: the host key changed (it does not match {known_hosts})",
            fix="if the cluster really changed its key, remove the old line from known_hosts") from exc
    except paramiko.AuthenticationException as exc:
        key = target.key_path or "the agent or default keys"
        raise TransientOperatorError(f"ssh {where}: authentication failed with {key}",
                                     fix="check ssh.user and ssh.key_path, and that the public key is in authorized_keys") from exc
    except paramiko.SSHException as exc:
        if "known_hosts" in str(exc):
            raise TransientOperatorError(
                f"ssh {where}: host key refused: {conn.host} is not in {known_hosts}",
                fix=f"verify the key and add it (ssh-keyscan -p {conn.port} {conn.host} >> {known_hosts}), "
                    "or set ssh.accept_new_host_key: true") from exc
        raise TransientOperatorError(f"ssh {where}: {exc}", fix="check the login node") from exc
    except (socket.timeout, TimeoutError) as exc:
        raise TransientOperatorError(f"ssh {where}: cannot reach {conn.host}:{conn.port} (timed out)",
                                     fix="check the host name, the port and the network; ticks retry") from exc
    except OSError as exc:
        detail = "connection refused" if "refused" in str(exc).lower() or "Unable to connect" in str(exc) else str(exc)
        raise TransientOperatorError(f"ssh {where}: cannot reach {conn.host}:{conn.port} ({detail})",
                                     fix="check that sshd runs there and the port is right; ticks retry") from exc
    return conn
