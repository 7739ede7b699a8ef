"""Registers the ``slurm`` and ``hpc_yaml`` compute backends with MatterStack.

Kept tiny on purpose: the backends (and fabric) are imported only when one is built, the
``matterstack ssh`` commands' module (typer only) when the command line starts.
"""

from __future__ import annotations

import attrs

from matterstack.plugins import LazyFactory, Scalar, hookimpl, pass_through, setting
from matterstack_ops_slurm.sbatch_options import SBATCH_SPELLINGS, option_problem


@attrs.frozen
class SshSettings:
    """How to reach the cluster's login node. Keys or the agent only: no passwords here."""

    host: str = setting(help="login node host name (an alias from ~/.ssh/config works)")
    user: str | None = setting(None, help="remote user (default: from ~/.ssh/config or the local user)")
    port: int | None = setting(None, help="SSH port (default: from ~/.ssh/config, else 22)", from_text=True)
    key_path: str | None = setting(None, help="private key file (default: the agent or the default keys)")
    known_hosts: str | None = setting(
        None, help="known_hosts file to check the host key against (default: UserKnownHostsFile of ~/.ssh/config, else ~/.ssh/known_hosts)"
    )
    accept_new_host_key: bool = setting(False, help="trust a host key seen for the first time (default: refuse it)",
                                        from_text=True)
    control_persist: Scalar | None = setting(
        None, help="log in once with `matterstack ssh login KEY` (a one-time code, multi-factor) and reuse that "
                   "connection through OpenSSH's own client until it has been idle this long, e.g. 8h, 30m or 3600 (s)")

    def __attrs_post_init__(self):
        from matterstack_ops_slurm.control_master import duration_problem

        if self.control_persist is not None and (problem := duration_problem(self.control_persist)):
            raise ValueError(problem)


@attrs.frozen
class SlurmDefaults:
    """Job defaults; a task's own resources win over these. Keys may be written in sbatch's
    spelling (``cpus-per-task``, ``mem``, ``gres``) and any other long option sbatch documents
    is passed through (see :mod:`matterstack_ops_slurm.sbatch_options`)."""

    partition: str | None = setting(None, help="sbatch --partition")
    account: str | None = setting(None, help="sbatch --account")
    qos: str | None = setting(None, help="sbatch --qos")
    time: Scalar | None = setting(None, help="sbatch --time, e.g. 02:00:00 or 90 (minutes)")
    nodes: int | None = setting(None, help="sbatch --nodes", from_text=True)
    ntasks: int | None = setting(None, help="sbatch --ntasks", from_text=True)
    cpus_per_task: int | None = setting(None, help="sbatch --cpus-per-task", aliases=("cpus-per-task",), from_text=True)
    memory_gb: float | None = setting(None, help="sbatch --mem, in GB", from_text=True)
    mem: Scalar | None = setting(None, help="sbatch --mem as sbatch takes it, e.g. 16G or 4000 (MB); the directive of memory_gb")
    gpus: int | None = setting(None, help="sbatch --gres=gpu:N", from_text=True)
    gres: Scalar | None = setting(None, help="sbatch --gres as sbatch takes it, e.g. gpu:a100:2; the directive of gpus")
    modules: list[str] = setting(factory=list, help="lines run before the command, e.g. 'module load vasp'")
    job_arrays: bool = setting(False, help="submit the attempts of one tick that ask for the same resources as one job "
                                           "array (sbatch --array), one element per attempt; see slurm.md#job-arrays",
                               from_text=True)
    array_parallel: int | None = setting(None, help="with job_arrays: how many elements of one array may run at once "
                                                    "(sbatch --array=0-K%N); absent: as many as the site allows",
                                         from_text=True)
    options: dict[str, Scalar] = pass_through(
        help="any other long option sbatch documents, by its name (mail-user or mail_user): #SBATCH --NAME=VALUE; true sets a flag",
        spellings=SBATCH_SPELLINGS, hint="or any long option sbatch documents (e.g. constraint, mail-user, exclusive)")

    def __attrs_post_init__(self):
        for ours, theirs in (("memory_gb", "mem"), ("gpus", "gres")):
            if getattr(self, ours) is not None and getattr(self, theirs) is not None:
                raise ValueError(f"{ours} and {theirs} are the same sbatch directive: give one of them")
        for name in ("time", "mem", "gres"):
            if isinstance(getattr(self, name), bool):
                raise ValueError(f"sbatch --{name} takes a value, found {str(getattr(self, name)).lower()}")
        if self.array_parallel is not None and self.array_parallel < 1:
            raise ValueError(f"array_parallel must be 1 or more, found {self.array_parallel}")
        for name, value in self.options.items():
            problem = option_problem(name, value)
            if problem is not None:
                raise ValueError(problem)


@attrs.frozen
class SlurmBackendSettings:
    """Backend ``slurm``: jobs through sbatch, on this machine or over SSH."""

    workspace_root: str = setting(help="remote folder under which job work directories are made")
    ssh: SshSettings | None = setting(None, help="how to reach the login node (absent: run Slurm commands locally)")
    slurm: SlurmDefaults = setting(factory=SlurmDefaults, help="job defaults")
    command_timeout: float = setting(60.0, help="seconds a Slurm command may take before the tick counts it as an outage",
                                     from_text=True)
    accounting: str = setting(
        "auto", help="where finished jobs are looked up: auto (asked from scontrol show config), slurmdbd (sacct), jobcomp (sacct -c) or none"
    )
    dry_run: bool = setting(False, help="record the command each attempt would run and complete it without running it (0.2.x)",
                            from_text=True)


@attrs.frozen
class HpcYamlBackendSettings:
    """Backend ``hpc_yaml``: a legacy MatterStack cluster file, read as a slurm backend."""

    path: str = setting(help="the legacy cluster YAML file (absolute, or relative to the current folder)")
    dry_run: bool = setting(False, help="record the command each attempt would run and complete it without running it (0.2.x)",
                            from_text=True)


@hookimpl
def matterstack_cli(app):
    from matterstack_ops_slurm.ssh_commands import add_commands

    add_commands(app)


@hookimpl
def matterstack_compute_backends(register):
    register("slurm", LazyFactory("matterstack_ops_slurm.backend:SlurmBackend"), settings=SlurmBackendSettings)
    # the legacy cluster file was always an hpc instance (as --hpc-config always made hpc.default)
    register("hpc_yaml", LazyFactory("matterstack_ops_slurm.hpc_yaml:HpcYamlBackend"), settings=HpcYamlBackendSettings,
             kinds=("hpc",))
