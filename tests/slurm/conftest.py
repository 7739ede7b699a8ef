"""Real Slurm clusters for the slurm backend's tests: the project's harness
(``tools/slurm-harness``), one session-scoped cluster per profile (``jobcomp``: completion
records only; ``accounting``: slurmdbd over MariaDB). A cluster that cannot start fails the
tests that need it; nothing here skips. Clusters are shared by every test and worker and are
never stopped here (``noxfile.py`` stops them after the run)."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from slurm_clusters import HARNESS, PROFILES, Cluster, start_cluster
from slurm_runs import SlurmRun


@pytest.fixture(scope="session")
def jobcomp_cluster() -> Cluster:
    """The cluster that keeps job completion records only (``sacct -c``)."""
    return start_cluster("jobcomp")


@pytest.fixture(scope="session")
def accounting_cluster() -> Cluster:
    """The cluster with slurmdbd over MariaDB (plain ``sacct``, ``sacctmgr``)."""
    return start_cluster("accounting")


@pytest.fixture(scope="session")
def maxsubmit_cluster() -> Cluster:
    """A cluster whose accounting caps root at 20 queued jobs (``MaxSubmitJobs``): sbatch
    refuses the 21st with ``AssocMaxSubmitJobLimit``. Not up before the suite: started here."""
    return start_cluster("maxsubmit", SLURM_HARNESS_MAX_SUBMIT_JOBS="20")


@pytest.fixture(params=PROFILES)
def any_cluster(request) -> Cluster:
    """Each profile's cluster in turn."""
    return request.getfixturevalue(f"{request.param}_cluster")


@pytest.fixture(params=("local", "ssh"))
def transport(request) -> str:
    """Each transport in turn: the local shell and SSH."""
    return request.param


@pytest.fixture
def on_cluster(monkeypatch):
    """Point this process's local Slurm commands at a cluster (SLURM_CONF), for the test only."""

    def point(cluster: Cluster) -> Cluster:
        monkeypatch.setenv("SLURM_CONF", cluster.slurm_conf)
        return cluster

    return point


@pytest.fixture
def make_backend(tmp_path, on_cluster):
    """Build a ``slurm`` backend through the plugin registry, as ``operators.yaml`` would."""
    from matterstack.plugins import OperatorContext, get_plugin_host, structure_settings

    built = []

    def make(cluster: Cluster, transport: str, **options):
        on_cluster(cluster)
        slurm = options.pop("slurm", {})
        block = {**cluster.backend_block(transport, tmp_path / "cluster-workspace", **slurm), **options}
        host = get_plugin_host()
        registration = host.compute_backend("slurm")
        settings = structure_settings(registration.settings, block, where="operators.hpc.test.backend")
        context = OperatorContext(run_id="run1", run_dir=tmp_path / "run", workspace_slug="ws", host=host)
        backend = registration.factory(settings, context)
        built.append(backend)
        return backend

    yield make
    for backend in built:
        backend.close()


@pytest.fixture
def token() -> str:
    """A fresh attempt token."""
    return str(uuid.uuid4())


@pytest.fixture
def slurm_run(tmp_path, on_cluster):
    """``make(cluster, tasks, transport="ssh", slurm=None, **instances)``: a run of ``tasks``
    on ``instances`` (default: ``hpc.default`` on ``cluster`` with the ``slurm`` job
    defaults), made by ``matterstack init`` in ``tmp_path``."""
    def make(cluster, tasks, transport="ssh", slurm=None, **instances):
        on_cluster(cluster)
        instances = instances or {"hpc.default": {"type": "slurm",
                                                  **cluster.backend_block(transport, tmp_path / "remote", **(slurm or {}))}}
        return SlurmRun(tmp_path, tasks, instances, env=cluster.command_env())

    return make


@pytest.fixture
def outage_cluster(tmp_path, profile, worker_id):
    """A cluster of this test's own (of the ``profile`` parameter, its own folder, and ports
    of its pytest-xdist worker: two workers' outage tests may run at once, one worker's never
    do): stopping its slurmctld disturbs no other test. Stopped and removed afterwards."""
    state = tmp_path.parent / f"slurm-outage-{uuid.uuid4().hex[:8]}"
    worker = int(worker_id[2:]) if worker_id.startswith("gw") else 0
    settings = {"SLURM_HARNESS_DIR": str(state), "SLURM_HARNESS_CTLD_PORT": str(16850 + 10 * worker),
                "SLURM_HARNESS_SSH_PORT": str(22250 + worker)}
    cluster = start_cluster(profile, **settings)
    yield cluster, settings
    subprocess.run([str(HARNESS / "slurm-down"), "--purge", str(state)], capture_output=True, timeout=120)


@pytest.fixture
def cluster(request, profile):
    """The cluster of the ``profile`` parameter (see ``slurm_clusters.EACH_PROFILE``)."""
    return request.getfixturevalue(f"{profile}_cluster")
