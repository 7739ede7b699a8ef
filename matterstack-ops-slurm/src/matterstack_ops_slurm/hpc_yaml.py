"""Backend ``hpc_yaml``: a legacy MatterStack cluster file, read as a ``slurm`` backend.

The file looks like::

    cluster:
      ssh: {host: login.cluster.edu, user: alice, port: 22, key_path: ~/.ssh/id_ed25519}
      paths: {remote_workspace: /scratch/alice/matterstack}
      slurm: {partition: normal, qos: normal, account: chem, ntasks: 1, time: "02:00:00",
              modules: ["module load vasp"]}

``ssh`` and ``slurm`` take the same keys as the slurm backend's blocks; every error names
the file and the key path. 0.2.x read only the keys it knew and ignored the rest (such as
``cluster.paths.local_results``); so does this reader, with a warning for each, never a refusal.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from matterstack.errors import ConfigError
from matterstack.plugins import CONFIG_FILE_LIMIT, SettingsNote, read_within_limit, setting, structure_settings
from matterstack_ops_slurm.backend import SlurmBackend
from matterstack_ops_slurm.register import SlurmBackendSettings, SlurmDefaults, SshSettings


@attrs.frozen
class LegacyPaths:
    """Where jobs run on the cluster."""

    remote_workspace: str = setting(help="folder under which job work directories are made")


@attrs.frozen
class LegacyCluster:
    """The ``cluster`` block of a legacy cluster file."""

    paths: LegacyPaths = setting(help="remote folders")
    ssh: SshSettings | None = setting(None, help="how to reach the login node (absent: local shell)")
    slurm: SlurmDefaults = setting(factory=SlurmDefaults, help="job defaults")
    name: str | None = setting(None, help="a name for people; not used")


def load_cluster_file(path: Path, notes: list | None = None) -> SlurmBackendSettings:
    """Read and validate a legacy cluster file into slurm backend settings; a key 0.2.x
    ignored adds a warning to ``notes``."""
    import yaml

    try:
        data = yaml.safe_load(read_within_limit(path, CONFIG_FILE_LIMIT))
    except FileNotFoundError as exc:
        raise ConfigError(f"cluster file {path} does not exist", where="hpc_yaml.path",
                          fix="give the path of the cluster YAML file") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read it: {' '.join(str(exc).split())}", where=str(path),
                          fix="write valid YAML") from exc
    if not isinstance(data, dict) or "cluster" not in data:
        raise ConfigError("expected the top-level key cluster", where=str(path),
                          fix="write cluster: {ssh: ..., paths: {remote_workspace: ...}, slurm: ...}")
    for key in data:
        if key != "cluster" and notes is not None:
            notes.append(SettingsNote("warning", f"{path}: {key}", "is ignored: MatterStack 0.2.x ignored it too"))
    cluster = structure_settings(LegacyCluster, data["cluster"], where=f"{path}: cluster", environ={},
                                 notes=notes, lenient=True)
    return SlurmBackendSettings(workspace_root=cluster.paths.remote_workspace, ssh=cluster.ssh, slurm=cluster.slurm)


class HpcYamlBackend(SlurmBackend):
    """Backend ``hpc_yaml``: the slurm backend the cluster file describes."""

    def __init__(self, settings, context):
        self.cluster_file = Path(settings.path).expanduser()
        super().__init__(load_cluster_file(self.cluster_file), context)

    def check_settings(self) -> list[tuple[str, str, str]]:
        """As the slurm backend's, each named where it is set: in the cluster file."""
        return [(f"path ({self.cluster_file}: cluster.{where})", problem, fix)
                for where, problem, fix in super().check_settings()]
