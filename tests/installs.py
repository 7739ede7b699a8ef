"""Running MatterStack as a user does: subprocesses with a clean environment, plugin
distributions laid out on a folder, and virtual environments made for one test."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

DISTRIBUTIONS = ("matterstack-core", "matterstack-ops-slurm", "matterstack-ops-human", "matterstack-ops-experiment")


def clean_env(**extra: str) -> dict[str, str]:
    """The process environment without MATTERSTACK_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATTERSTACK_")}
    env.update(extra)
    return env


def run(command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``command`` to completion, capturing text output (never raises on a non-zero exit)."""
    return subprocess.run(command, capture_output=True, text=True, env=env or clean_env(), cwd=cwd, timeout=600)


PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "{version}"

[project.entry-points.matterstack]
{entry_point}

[tool.hatch.build.targets.wheel]
packages = ["{package}"]
"""


def plugin_source_tree(folder: Path, *, name: str, version: str, package: str, entry_point: str,
                       modules: dict[str, str]) -> Path:
    """The source tree of a plugin distribution pip can build offline (hatchling): ``package``
    holding ``modules`` (``{file name: source}``), declared as ``entry_point`` in the
    ``matterstack`` group (``'shell = "my_package"'``)."""
    (folder / package).mkdir(parents=True)
    (folder / "pyproject.toml").write_text(
        PYPROJECT.format(name=name, version=version, entry_point=entry_point, package=package))
    for file_name, source in {"__init__.py": "", **modules}.items():
        (folder / package / file_name).write_text(textwrap.dedent(source))
    return folder


class PluginPath:
    """A folder on ``sys.path`` holding plugin distributions installed the way pip lays them out
    (``<name>.dist-info`` with ``METADATA`` and ``entry_points.txt``, beside the modules)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.modules: list[str] = []

    def add(self, distribution: str, version: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
        """Install ``distribution``: its ``matterstack`` entry points and module sources."""
        info = self.folder / f"{distribution.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n")
        lines = "".join(f"{name} = {module}\n" for name, module in entry_points.items())
        (info / "entry_points.txt").write_text(f"[matterstack]\n{lines}")
        for module, source in modules.items():
            (self.folder / f"{module}.py").write_text(textwrap.dedent(source))
            self.modules.append(module)

    def env(self, **extra: str) -> dict[str, str]:
        """An environment for a subprocess that sees these distributions."""
        return clean_env(PYTHONPATH=str(self.folder), **extra)


class Venv:
    """A virtual environment made for one test."""

    def __init__(self, path: Path):
        self.path = path
        self.bin = path / "bin"

    def run(self, program: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run ``program`` from the environment's ``bin`` folder."""
        return run([str(self.bin / program), *args], env=env)

    def pip(self, *args: str) -> subprocess.CompletedProcess:
        """Run the environment's pip; fail the test with pip's output if it fails."""
        result = self.run("python", "-m", "pip", "--disable-pip-version-check", *args)
        assert result.returncode == 0, result.stdout + result.stderr
        return result
