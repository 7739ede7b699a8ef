"""Slurm commands and files through OpenSSH's own client and a login made by a person.

The transport of an instance whose ``ssh`` block sets ``control_persist`` (see
:mod:`matterstack_ops_slurm.control_master`). Every command is one ``ssh`` process that
goes through the master's socket, with ``BatchMode=yes`` and ``ProxyCommand=false``: it
never prompts and never opens a connection of its own, so a missing or expired login fails
at once, without touching the network, as :class:`TransientOperatorError` "login needed"
(an outage: nothing changes, the next tick after ``matterstack ssh login`` goes on).
Files go as one tar stream each way; symlinks are not copied, as over SFTP.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from matterstack.errors import TransientOperatorError
from matterstack_ops_slurm.control_master import LoginTarget, check, login_needed
from matterstack_ops_slurm.child_process import run_piped
from matterstack_ops_slurm.transport import CommandResult, Transport, selected

# ssh's own exit code for "could not connect or authenticate"; a remote command's code otherwise.
SSH_FAILED = 255
# In a tick, only the master's socket: no prompt, and no connection of the tick's own.
_TICK_OPTIONS = ("-o", "ControlMaster=no", "-o", "BatchMode=yes", "-o", "ProxyCommand=false", "-T")


def login_target(ssh) -> LoginTarget:
    """The :class:`LoginTarget` of an ``ssh`` settings block that sets ``control_persist``."""
    return LoginTarget(host=ssh.host, user=ssh.user, port=ssh.port, key_path=ssh.key_path, known_hosts=ssh.known_hosts,
                       accept_new_host_key=ssh.accept_new_host_key, control_persist=str(ssh.control_persist))


class OpenSshTransport(Transport):
    """Commands and files over the master connection ``matterstack ssh login`` opened."""

    def __init__(self, target: LoginTarget, instance_key: str | None = None):
        self.target = target
        self.instance_key = instance_key
        self.label = target.label

    def _argv(self, command: str) -> list[str]:
        return [*self.target.ssh_argv(*_TICK_OPTIONS), command]

    def _refused(self, stderr: str, doing: str) -> TransientOperatorError:
        """The error of an ``ssh`` that exited 255: a login is needed, or the connection broke."""
        if not check(self.target).running:
            return login_needed(self.target, self.instance_key)
        said = " ".join(stderr.split())[:300] or "no reason given"
        return TransientOperatorError(f"ssh {self.label}: {doing} failed: {said}", fix="nothing to do: the next tick retries")

    def _no_master(self) -> TransientOperatorError | None:
        return None if self.target.socket_path().exists() else login_needed(self.target, self.instance_key)

    def _timed_out(self, timeout: float, command: str) -> TransientOperatorError:
        return TransientOperatorError(f"ssh {self.label}: command timed out after {timeout:g} s: {command[:80]}",
                                      fix="check that slurmctld answers (`sinfo` on the login node)")

    def run(self, command: str, timeout: float) -> CommandResult:
        self.round_trips += 1
        if missing := self._no_master():
            raise missing
        try:
            done = subprocess.run(self._argv(command), capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise self._timed_out(timeout, command) from exc
        if done.returncode == SSH_FAILED and not check(self.target).running:
            raise login_needed(self.target, self.instance_key)
        return CommandResult(done.returncode, done.stdout, done.stderr)

    def run_piped(self, command: str, stdin: BinaryIO | None, on_chunk, timeout: float) -> CommandResult:
        self.round_trips += 1
        if missing := self._no_master():
            raise missing
        try:
            code, said = run_piped(self._argv(command), stdin, on_chunk, timeout)
        except TimeoutError as exc:
            raise self._timed_out(timeout, command) from exc
        if code == SSH_FAILED and not check(self.target).running:
            raise login_needed(self.target, self.instance_key)
        return CommandResult(code, "", said)

    def _stream(self, command: str, doing: str, *, send=None, receive=None, timeout: float = 3600) -> None:
        """Run ``command`` with ``send(pipe)`` writing its input and ``receive(pipe)`` reading
        its output; TransientOperatorError unless it exits 0."""
        if missing := self._no_master():
            raise missing
        self.round_trips += 1
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(self._argv(command), stdin=subprocess.PIPE if send else subprocess.DEVNULL,
                                       stdout=subprocess.PIPE if receive else subprocess.DEVNULL, stderr=errors)
            try:
                if send:
                    with process.stdin:
                        send(process.stdin)
                if receive:
                    with process.stdout:
                        receive(process.stdout)
                code = process.wait(timeout=timeout)
            except (OSError, tarfile.TarError, subprocess.TimeoutExpired) as exc:
                process.kill()
                process.wait()
                errors.seek(0)
                raise self._refused(errors.read().decode(errors="replace") or str(exc), doing) from exc
            errors.seek(0)
            said = errors.read().decode(errors="replace")
        if code != 0:
            raise self._refused(said, doing)

    def upload(self, local_dir: Path, remote_dir: str) -> None:
        def send(pipe) -> None:
            with tarfile.open(fileobj=pipe, mode="w|") as archive:
                for path in sorted(Path(local_dir).rglob("*")):
                    if path.is_symlink() or not (path.is_file() or path.is_dir()):
                        continue
                    archive.add(path, arcname=path.relative_to(local_dir).as_posix(), recursive=False)

        folder = shlex.quote(remote_dir)
        self._stream(f"mkdir -p {folder} && tar --no-same-owner -xf - -C {folder}", f"uploading to {remote_dir}", send=send)

    def write_text(self, remote_path: str, text: str) -> None:
        folder = shlex.quote(str(PurePosixPath(remote_path).parent))
        self._stream(f"mkdir -p {folder} && cat > {shlex.quote(remote_path)}", f"writing {remote_path}",
                     send=lambda pipe: pipe.write(text.encode()))

    def download(self, remote_dir: str, dest: Path, include, exclude) -> None:
        listing = self.run(f"cd {shlex.quote(remote_dir)} 2>/dev/null || exit 0; find . -type f -print0", 60.0)
        if listing.exit_code != 0:
            raise TransientOperatorError(f"ssh {self.label}: cannot list {remote_dir}: {' '.join(listing.stderr.split())[:300]}",
                                         fix="the next tick retries")
        names = [n[2:] for n in listing.stdout.split("\0") if n.startswith("./")]
        wanted = [n for n in names if selected(n, include, exclude)]
        if not wanted:
            return

        def receive(pipe) -> None:
            with tarfile.open(fileobj=pipe, mode="r|") as archive:
                for member in archive:
                    _save_member(archive, member, Path(dest), set(wanted))

        self._stream(f"cd {shlex.quote(remote_dir)} && tar -cf - --null -T -", f"downloading from {remote_dir}",
                     send=lambda pipe: pipe.write("".join(f"./{n}\0" for n in wanted).encode()), receive=receive)

    def home(self) -> str:
        result = self.run("pwd", 60.0)
        if result.exit_code != 0 or not result.stdout.strip():
            raise TransientOperatorError(f"ssh {self.label}: cannot tell the home folder: {result.stderr.strip()[:200]}",
                                         fix="the next tick retries")
        return result.stdout.strip()

    def close(self) -> None:
        """Nothing: the login stays open for the next tick and other processes."""


def _save_member(archive: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, wanted: set[str]) -> None:
    """Write one regular file of the stream under ``dest``, if it is one that was asked for
    (the names come from the cluster: nothing may land outside ``dest``)."""
    name = member.name[2:] if member.name.startswith("./") else member.name
    if not member.isfile() or name not in wanted:
        return
    target = dest / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.extractfile(member) as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out)
