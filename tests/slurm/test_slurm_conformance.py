"""The conformance kit run against kind ``hpc`` on the ``slurm`` backend and the REAL harness
cluster, through the local shell and over SSH, on both profiles (completion records only, and
slurmdbd accounting). The crash test's child process is killed between ``sbatch`` and any
record of it. The outages are real: over SSH, the login node's port is closed; through the
local shell, the Slurm commands are pointed at a controller port nobody listens on (test ids
``local-closed-port``, ``ssh-closed-port``)."""

from __future__ import annotations

import contextlib
import re
import socket

import attrs
import pytest

from matterstack.testing import OperatorConformance

WORKSPACE_ROOT = "/scratch/matterstack"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SlurmConformance(OperatorConformance):
    """The kit on ``hpc.cluster`` with a slurm backend; subclasses choose the cluster."""

    operator_key = "hpc.cluster"
    timeout = 120
    poll_interval = 0.5
    invalid_settings = [
        ({"backend": {"type": "slurm"}}, "operators.hpc.cluster.backend.workspace_root: required key is missing"),
        ({"backend": {"type": "slurm", "workspace_root": WORKSPACE_ROOT, "slurm": {"partition": 3}}},
         "operators.hpc.cluster.backend.slurm.partition: expected a string, found an integer"),
        ({"backend": {"type": "slurm", "workspace_root": WORKSPACE_ROOT, "ssh": {"host": "login", "password": "x"}}},
         "operators.hpc.cluster.backend.ssh.password: unknown key"),
        ({"backend": {"type": "slurm", "workspace_root": WORKSPACE_ROOT, "command_timeout": "soon"}},
         "operators.hpc.cluster.backend.command_timeout: expected a number"),
    ]
    cluster_fixture = ""
    outage_name = "closed-port"

    @pytest.fixture(autouse=True)
    def cluster(self, request, transport, on_cluster, tmp_path, monkeypatch):
        """The cluster (started by the harness if it is not up), and this test's transport."""
        self.slurm_cluster = on_cluster(request.getfixturevalue(self.cluster_fixture))
        self.transport = transport
        self.monkeypatch = monkeypatch
        self.folder = tmp_path

    def operator_settings(self, tmp_path):
        block = self.slurm_cluster.backend_block(self.transport, tmp_path / "cluster-workspace",
                                                 partition="debug", time="00:10:00")
        return {"max_concurrent": 8, "backend": {"type": "slurm", **block}}

    @contextlib.contextmanager
    def unavailable(self, operator):
        if self.transport == "ssh":
            backend = {**operator.settings.backend, "ssh": {**operator.settings.backend["ssh"], "port": free_port()}}
            settings = attrs.evolve(operator.settings, backend=backend)
            down = operator.context.host.operator_kind("hpc").factory(operator.key, settings, operator.context)
            yield down
            down.close()
            return
        conf = self.folder / "slurm-unreachable.conf"
        text = open(self.slurm_cluster.slurm_conf).read()
        conf.write_text(re.sub(r"(?m)^SlurmctldPort=\d+$", f"SlurmctldPort={free_port()}", text))
        with self.monkeypatch.context() as patch:
            patch.setenv("SLURM_CONF", str(conf))
            yield operator


class TestSlurmJobcompConformance(SlurmConformance):
    cluster_fixture = "jobcomp_cluster"


class TestSlurmAccountingConformance(SlurmConformance):
    cluster_fixture = "accounting_cluster"
