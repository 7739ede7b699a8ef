"""A cluster whose login node asks for a one-time code after the key (the harness's
``sshd-mfa``: pam_oath, TOTP): a person logs in once with ``matterstack ssh login``, typing
the code ``oathtool`` computes into a real terminal (a pty), and every later ``step``
process submits and collects real Slurm jobs through that one login. Without a login a tick
reports "login needed" as an outage: nothing fails, ``explain``, ``doctor`` and ``ssh
status`` say so."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from slurm_clusters import HARNESS
from slurm_runs import MATTERSTACK, SlurmRun

LOGIN_NEEDED = "login needed: matterstack ssh login hpc.default"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mfa_sshd(jobcomp_cluster):
    """An sshd of this test's own that asks for the key, then a TOTP code; stopped afterwards."""
    folder = tempfile.mkdtemp(prefix="mfa-", dir="/tmp")
    env = {**os.environ, "SLURM_HARNESS_PROFILE": "jobcomp", "SLURM_HARNESS_DIR": jobcomp_cluster.env["SLURM_HARNESS_DIR"],
           "SLURM_HARNESS_MFA_PORT": str(free_port()), "SLURM_HARNESS_QUIET": "1"}
    started = subprocess.run([str(HARNESS / "sshd-mfa"), "up", "--json", folder], capture_output=True, text=True,
                             env=env, timeout=900)
    if started.returncode != 0:
        pytest.fail(f"sshd-mfa up failed ({started.returncode}):\n{started.stderr}", pytrace=False)
    yield json.loads(started.stdout)
    subprocess.run([str(HARNESS / "sshd-mfa"), "down", "--purge", folder], capture_output=True, env=env, timeout=120)


@pytest.fixture
def control_dir():
    """The folder of this test's login sockets (short: a socket path holds 108 bytes); any
    login left open is closed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="msc-", dir="/tmp"))
    yield folder
    for socket_path in folder.glob("*.sock"):
        subprocess.run(["ssh", "-O", "exit", "-o", f"ControlPath={socket_path}", "login-node"], capture_output=True, timeout=30)
    shutil.rmtree(folder, ignore_errors=True)


def logins(mfa: dict) -> int:
    """Logins that passed the one-time code, from the sshd's log."""
    return Path(mfa["SLURM_HARNESS_MFA_LOG"]).read_text().count("Accepted keyboard-interactive/pam for root")


def one_time_code(mfa: dict, *, ahead_seconds: int = 0) -> str:
    secret = Path(mfa["SLURM_HARNESS_MFA_SECRET_FILE"]).read_text().strip()
    return subprocess.run(["oathtool", "--totp", "-N", f"now + {ahead_seconds} seconds", secret],
                          capture_output=True, text=True, check=True).stdout.strip()


def login_in_a_terminal(run: SlurmRun, mfa: dict, *, ahead_seconds: int = 0, timeout: float = 30) -> tuple[int, str]:
    """``matterstack ssh login hpc.default`` on a pty, typing the code when asked; its exit
    code and what the terminal showed."""
    argv = [str(MATTERSTACK), "ssh", "login", "hpc.default", "--operators-config", str(run.operators_yaml)]
    pid, terminal = pty.fork()
    if pid == 0:
        os.chdir(run.workspace)
        os.execve(argv[0], argv, run.env)
    shown, typed, open_ = b"", False, True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([terminal], [], [], 0.2) if open_ else ([], [], time.sleep(0.1))
        if ready:
            try:
                shown += os.read(terminal, 4096)
            except OSError:  # the command ended: nothing holds the terminal any more
                open_ = False
        if not typed and b"One-time password" in shown:
            os.write(terminal, (one_time_code(mfa, ahead_seconds=ahead_seconds) + "\n").encode())
            typed = True
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            os.close(terminal)
            return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError(f"ssh login still running after {timeout} s; the terminal showed: {shown!r}")


def test_one_login_in_a_terminal_serves_every_tick_and_without_it_ticks_report_an_outage(
        jobcomp_cluster, mfa_sshd, control_dir, tmp_path, on_cluster):
    # given a run of three quick tasks and one held until a file exists, on an instance whose
    # login node asks for a one-time code, and nobody logged in
    on_cluster(jobcomp_cluster)
    go = tmp_path / "go"
    ssh = {"host": "127.0.0.1", "port": int(mfa_sshd["SLURM_HARNESS_MFA_PORT"]), "user": "root",
           "key_path": mfa_sshd["SLURM_HARNESS_SSH_KEY"], "known_hosts": mfa_sshd["SLURM_HARNESS_MFA_KNOWN_HOSTS"],
           "control_persist": "10m"}
    tasks = [{"task_id": f"quick{i}", "command": "echo $SLURM_JOB_ID > out.txt"} for i in range(3)]
    tasks.append({"task_id": "held", "env": {"GO": str(go)}, "time_limit_minutes": 10,
                  "command": 'while [ ! -e "$GO" ]; do sleep 0.5; done; echo done > out.txt'})
    instances = {"hpc.default": {"type": "slurm", "workspace_root": str(tmp_path / "remote"), "ssh": ssh}}
    run = SlurmRun(tmp_path, tasks, instances, env=jobcomp_cluster.command_env(MATTERSTACK_SSH_CONTROL_DIR=str(control_dir)))
    config = ("--operators-config", str(run.operators_yaml))

    # when ticks run before anyone logged in
    started = time.monotonic()
    before = run.step()
    first_tick = time.monotonic() - started
    # and then the person logs in once, in a terminal, and steps run in processes of their own
    code, terminal = login_in_a_terminal(run, mfa_sshd)
    status_in = run.cli("ssh", "status", *config).stdout

    def quick_done_and_held_running(r):
        states = {a.task_id: a.status.value for a in r.all_attempts()}
        return all(states.get(f"quick{i}") == "COMPLETED" for i in range(3)) and states.get("held") == "RUNNING"

    run.step_until(quick_done_and_held_running, timeout=120)

    # then the ticks before the login waited without failing anything, and one login served every tick after
    assert any(LOGIN_NEEDED in note and "unchanged, will retry" in note for note in before), before
    assert first_tick < 20
    assert code == 0 and "One-time password" in terminal and "hpc.default: logged in to root@127.0.0.1" in terminal
    assert "hpc.default" in status_in and "logged in (Master running" in status_in
    assert logins(mfa_sshd) == 1
    for i in range(3):
        (attempt,) = run.attempts_json(f"quick{i}")
        assert (run.root / attempt["path"] / "out.txt").read_text().strip() == attempt["external_id"]

    # when the person logs out and the next tick runs
    logout = run.cli("ssh", "logout", "hpc.default", *config).stdout
    after = run.step()
    statuses_after = {a.task_id: a.status.value for a in run.all_attempts()}
    explained = run.cli("explain", "{run}").stdout
    doctor = subprocess.run([str(MATTERSTACK), "doctor", *config], capture_output=True, text=True, env=run.env, timeout=120)
    status_out = run.cli("ssh", "status", *config).stdout

    # then the tick reports the outage, nothing failed, and explain, doctor and ssh status say it
    assert logout.strip() == "hpc.default: logged out of root@127.0.0.1:" + str(ssh["port"])
    assert any(note.startswith(f"hpc.default: {LOGIN_NEEDED}") for note in after), after
    assert statuses_after["held"] == "RUNNING" and "FAILED" not in statuses_after.values()
    assert LOGIN_NEEDED in explained
    assert doctor.returncode == 1
    assert [line.split(None, 1)[1] for line in doctor.stdout.splitlines() if line.startswith("hpc.default ")][0].startswith(
        f"FAIL  ssh: {LOGIN_NEEDED} (fix: run it in a terminal and type your one-time code")
    assert "hpc.default  root@127.0.0.1" in status_out and f"login needed (no login open): matterstack ssh login hpc.default" in status_out

    # when the person logs in again (the next code: the last one was used) and the held task may end
    go.write_text("")
    again, _ = login_in_a_terminal(run, mfa_sshd, ahead_seconds=30)
    finished = run.loop(timeout=120)

    # then the run completes on that second login
    assert again == 0 and finished.returncode == 0
    assert {a.status.value for a in run.all_attempts()} == {"COMPLETED"}
    assert logins(mfa_sshd) == 2
