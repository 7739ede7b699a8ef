"""The OpenSSH-client transport (``ssh.control_persist``) against the harness's key-only sshd:
without a login it fails at once with "login needed" (never a prompt), through a login it
runs commands and moves files as the SFTP transport does, and ``control_persist`` takes only
durations OpenSSH understands."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matterstack.errors import ConfigError, TransientOperatorError
from matterstack.plugins import structure_settings
from matterstack_ops_slurm.control_master import LoginTarget, check, close_master, open_master
from matterstack_ops_slurm.openssh_transport import OpenSshTransport
from matterstack_ops_slurm.register import SshSettings


@pytest.fixture
def transport(jobcomp_cluster, monkeypatch):
    folder = Path(tempfile.mkdtemp(prefix="msc-", dir="/tmp"))  # a socket path must stay short
    monkeypatch.setenv("MATTERSTACK_SSH_CONTROL_DIR", str(folder))
    env = jobcomp_cluster.env
    target = LoginTarget(host=env["SLURM_HARNESS_SSH_HOST"], port=int(env["SLURM_HARNESS_SSH_PORT"]), user="root",
                         key_path=env["SLURM_HARNESS_SSH_KEY"], known_hosts=env["SLURM_HARNESS_SSH_KNOWN_HOSTS"],
                         control_persist="5m")
    yield OpenSshTransport(target, "hpc.test")
    close_master(target)
    shutil.rmtree(folder, ignore_errors=True)


def test_without_a_login_a_command_fails_at_once_saying_which_login_is_needed(transport):
    started = time.monotonic()
    with pytest.raises(TransientOperatorError) as raised:
        transport.run("true", timeout=30)

    assert raised.value.one_line().startswith("login needed: matterstack ssh login hpc.test (fix: run it in a terminal")
    assert time.monotonic() - started < 5


def test_through_a_login_commands_and_files_go_as_over_sftp(transport, tmp_path, jobcomp_cluster):
    # given a login (a key-only login node asks nothing) and a folder with a nested file and a symlink
    assert open_master(transport.target) == 0
    local = tmp_path / "in"
    (local / "sub").mkdir(parents=True)
    (local / "sub" / "a.txt").write_text("a\n")
    (local / "big.tmp").write_text("scratch\n")
    (local / "link").symlink_to(local / "big.tmp")
    remote = str(tmp_path / "remote" / "job")

    # when
    ran = transport.run("printenv SLURM_CONF; echo oops >&2; exit 3", timeout=30)
    transport.upload(local, remote)
    transport.write_text(f"{remote}/.matterstack/submit.sh", "#!/bin/sh\n")
    back = tmp_path / "back"
    transport.download(remote, back, ["sub/*"], ["*.tmp"])
    transport.download(str(tmp_path / "nowhere"), tmp_path / "nothing", None, None)

    # then
    assert (ran.exit_code, ran.stdout.strip(), ran.stderr.strip()) == (3, jobcomp_cluster.slurm_conf, "oops")
    assert sorted(p.relative_to(remote).as_posix() for p in Path(remote).rglob("*")) == [
        ".matterstack", ".matterstack/submit.sh", "big.tmp", "sub", "sub/a.txt"]
    assert sorted(p.relative_to(back).as_posix() for p in back.rglob("*") if p.is_file()) == [
        ".matterstack/submit.sh", "sub/a.txt"]
    assert not (tmp_path / "nothing").exists()
    assert transport.home() == "/root"
    assert check(transport.target).running


def test_after_logout_or_a_dead_master_commands_say_login_needed_and_a_new_login_replaces_it(transport):
    assert open_master(transport.target) == 0
    assert close_master(transport.target) is True
    with pytest.raises(TransientOperatorError, match="login needed"):
        transport.run("true", timeout=30)

    # a master killed without cleaning up leaves its socket file behind
    assert open_master(transport.target) == 0
    pid = int(check(transport.target).detail.split("pid=")[1].rstrip(")"))
    subprocess.run(["kill", "-9", str(pid)], check=True)
    time.sleep(0.5)
    with pytest.raises(TransientOperatorError, match="login needed"):
        transport.run("true", timeout=30)
    assert open_master(transport.target) == 0
    assert transport.run("echo again", timeout=30).stdout == "again\n"


@given(st.from_regex(r"[1-9][0-9]{0,4}[smhdw]?", fullmatch=True))
def test_control_persist_takes_the_durations_openssh_understands(value):
    settings = structure_settings(SshSettings, {"host": "login", "control_persist": value}, where="ssh")

    assert settings.control_persist == value


@pytest.mark.parametrize("value", ["soon", "8 hours", "0", "-5m", True, 1.5, ""])
def test_control_persist_refuses_anything_else_in_one_line(value):
    with pytest.raises(ConfigError) as raised:
        structure_settings(SshSettings, {"host": "login", "control_persist": value}, where="operators.hpc.x.backend.ssh")

    assert raised.value.one_line().startswith("operators.hpc.x.backend.ssh")
    assert "control_persist takes how long an idle login stays open, such as 8h" in raised.value.one_line()
