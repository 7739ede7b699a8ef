"""The SSH transport against the harness's real sshd: host keys checked against known_hosts,
``~/.ssh/config`` honoured, one connection per host reused, and one clear line for every way
the login node can be out of reach (never a failed attempt)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import pytest

from matterstack.errors import TransientOperatorError
from matterstack_ops_slurm.transport import SshTarget, SshTransport, close_all


@pytest.fixture
def target(jobcomp_cluster):
    env = jobcomp_cluster.env
    close_all()
    yield SshTarget(host=env["SLURM_HARNESS_SSH_HOST"], port=int(env["SLURM_HARNESS_SSH_PORT"]), user="root",
                    key_path=env["SLURM_HARNESS_SSH_KEY"], known_hosts=env["SLURM_HARNESS_SSH_KNOWN_HOSTS"])
    close_all()


def connect(target: SshTarget, **changes) -> SshTransport:
    import attrs

    return SshTransport(attrs.evolve(target, **changes))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_commands_run_remotely_and_see_the_cluster(target, jobcomp_cluster):
    result = SshTransport(target).run("printenv SLURM_CONF; sinfo -h -o %P", timeout=30)

    assert result.exit_code == 0
    assert result.stdout.split() == [jobcomp_cluster.slurm_conf, "debug*", "dev"]


def test_one_connection_per_host_is_reused_by_every_transport_of_the_process(target):
    first, second = SshTransport(target), SshTransport(target)

    first.run("true", timeout=30)
    connection = first._connection()
    second.run("true", timeout=30)

    assert second._connection() is connection


def test_a_closed_port_is_one_transient_line(target):
    port = free_port()
    with pytest.raises(TransientOperatorError) as raised:
        connect(target, port=port).run("true", timeout=10)

    assert raised.value.one_line().startswith(f"ssh root@127.0.0.1:{port}: cannot reach 127.0.0.1:{port} (connection refused)")


def test_a_wrong_key_is_one_transient_line(target, tmp_path):
    key = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)

    with pytest.raises(TransientOperatorError, match=f"authentication failed with {key} .*fix: check ssh.user and ssh.key_path"):
        connect(target, key_path=str(key)).run("true", timeout=10)


def test_a_missing_key_file_is_named(target, tmp_path):
    with pytest.raises(TransientOperatorError, match="key file .*/nokey does not exist"):
        connect(target, key_path=str(tmp_path / "nokey")).run("true", timeout=10)


def test_an_unknown_host_key_is_refused(target, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")

    with pytest.raises(TransientOperatorError, match=r"host key refused: 127.0.0.1 is not in .*known_hosts .*accept_new_host_key"):
        connect(target, known_hosts=str(empty)).run("true", timeout=10)


def test_a_changed_host_key_is_refused(target, tmp_path):
    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    lying = tmp_path / "known_hosts"
    lying.write_text(f"[127.0.0.1]:{target.port} {' '.join(other.with_suffix('.pub').read_text().split()[:2])}\n")

    with pytest.raises(TransientOperatorError, match="the host key changed"):
        connect(target, known_hosts=str(lying)).run("true", timeout=10)


def test_accept_new_host_key_trusts_a_first_seen_key_and_records_it(target, tmp_path):
    fresh = tmp_path / "ssh" / "known_hosts"

    result = connect(target, known_hosts=str(fresh), accept_new_host_key=True).run("echo hi", timeout=10)

    assert result.stdout == "hi\n"
    assert f"[127.0.0.1]:{target.port} ssh-ed25519 " in fresh.read_text()


def test_a_host_alias_from_the_users_ssh_config_is_honoured(jobcomp_cluster, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    shutil.copy(jobcomp_cluster.env["SLURM_HARNESS_SSH_CONFIG"], home / ".ssh" / "config")
    monkeypatch.setenv("HOME", str(home))
    close_all()

    result = SshTransport(SshTarget(host=jobcomp_cluster.env["SLURM_HARNESS_SSH_ALIAS"])).run("whoami", timeout=10)
    close_all()

    assert result.stdout == "root\n"


def test_registering_the_slurm_backends_does_not_import_fabric():
    code = ("import sys; from matterstack.plugins import get_plugin_host; "
            "host = get_plugin_host(); host.compute_backend('slurm'); host.compute_backend('hpc_yaml'); "
            "print('fabric' in sys.modules, 'paramiko' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.split() == ["False", "False"]
