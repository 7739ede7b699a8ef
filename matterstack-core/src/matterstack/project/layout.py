"""Workspaces and run directories: where a campaign's code is and where its runs live.

A workspace is a folder holding ``main.py`` with ``get_campaign()``. It is named either by a
slug under the workspaces root (``demos/screening`` → ``<root>/demos/screening``) or by a path
to the folder (``examples/screening``). Runs live in ``<workspace>/runs/<run_id>/``.

Runs are found by id from anywhere in the project: through the project's run index
(``<project>/.matterstack/runs.jsonl``, appended at ``init``) and, for runs made elsewhere
(copied folders, MatterStack 0.2.x), by looking for ``runs/<run_id>/state.sqlite`` below
the project.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import attrs

from matterstack.errors import ConfigError, RunNotFoundError, WorkflowError

WORKSPACES_ENV = "MATTERSTACK_WORKSPACES_ROOT"
RUN_INDEX = Path(".matterstack") / "runs.jsonl"
_SKIP_DIRS = {".git", ".nox", ".venv", "node_modules", "__pycache__", ".tox", "site-packages"}


@attrs.frozen
class Workspace:
    """A campaign's folder and the slug its runs record."""

    path: Path
    slug: str

    @property
    def main_py(self) -> Path:
        return self.path / "main.py"

    @property
    def runs_dir(self) -> Path:
        return self.path / "runs"


def workspaces_root(explicit: str | os.PathLike | None = None, cwd: Path | None = None) -> Path:
    """The workspaces root: ``explicit``, else $MATTERSTACK_WORKSPACES_ROOT, else, walking up
    from ``cwd``, the first project folder's ``workspaces/``; else ``<cwd>/workspaces``.

    A project folder holds a ``workspaces/`` folder, or the run index ``init`` writes
    (``.matterstack/runs.jsonl``), so a project whose workspaces are plain paths
    (``matterstack run examples/screening``) is found from any of its subfolders too.
    """
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get(WORKSPACES_ENV):
        return Path(os.environ[WORKSPACES_ENV]).expanduser().resolve()
    cwd = (cwd or Path.cwd()).resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / "workspaces").is_dir() or (folder / RUN_INDEX).is_file():
            return folder / "workspaces"
    return cwd / "workspaces"


def project_root(root: Path) -> Path:
    """The project folder: the parent of the workspaces root."""
    return root.parent


def resolve_workspace(name: str, root: Path) -> Workspace:
    """A workspace named by slug (under ``root``) or by path; it must hold ``main.py``."""
    as_path = Path(name).expanduser()
    candidates = [root / name] if not as_path.is_absolute() else []
    candidates.append(as_path)
    for folder in candidates:
        if folder.is_dir():
            folder = folder.resolve()
            if not (folder / "main.py").is_file():
                raise ConfigError(
                    "workspace has no main.py",
                    where=str(folder),
                    fix="add a main.py that defines get_campaign()",
                )
            try:
                slug = folder.relative_to(root.resolve()).as_posix()
            except ValueError:
                slug = folder.name
            return Workspace(path=folder, slug=slug)
    raise ConfigError(
        f"no workspace {name!r}",
        where=str(root),
        fix=f"give a slug under {root} or a path to a folder holding main.py",
    )


def load_campaign(workspace_path: Path):
    """Import ``<workspace>/main.py`` and return ``get_campaign()``.

    The import runs with the workspace folder first on ``sys.path`` so that ``main.py`` can
    import its own helper modules, as MatterStack 0.2.x allowed.
    """
    main_py = workspace_path / "main.py"
    if not main_py.is_file():
        raise ConfigError("workspace has no main.py", where=str(workspace_path),
                          fix="add a main.py that defines get_campaign()")
    module_name = f"matterstack_workspace_{abs(hash(str(main_py.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, main_py)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(workspace_path))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise WorkflowError(
            f"importing main.py raised {type(exc).__name__}: {exc}",
            where=str(main_py),
            fix="fix the error in main.py (run with --debug for the traceback)",
        ) from exc
    finally:
        sys.path.remove(str(workspace_path))
    factory = getattr(module, "get_campaign", None)
    if not callable(factory):
        raise ConfigError("main.py defines no get_campaign()", where=str(main_py),
                          fix="add `def get_campaign(): return MyCampaign()`")
    try:
        return factory()
    except Exception as exc:
        raise WorkflowError(
            f"get_campaign() raised {type(exc).__name__}: {exc}",
            where=str(main_py),
            fix="fix get_campaign() (run with --debug for the traceback)",
        ) from exc


def register_run(root: Path, run_id: str, run_dir: Path) -> None:
    """Append a run to the project's run index so any folder of the project can find it."""
    index = project_root(root) / RUN_INDEX
    index.parent.mkdir(parents=True, exist_ok=True)
    with index.open("a") as fh:
        fh.write(json.dumps({"run_id": run_id, "path": str(run_dir.resolve())}) + "\n")


def find_run(run_id: str, root: Path) -> Path:
    """The directory of run ``run_id``, or RunNotFoundError naming where we looked."""
    for candidate in _indexed_runs(root).get(run_id, []):
        if (candidate / "state.sqlite").is_file():
            return candidate
    for run_dir in runs_below(project_root(root)):
        if run_dir.name == run_id:
            return run_dir
    raise RunNotFoundError(
        f"no run {run_id!r}",
        where=str(project_root(root)),
        fix="check the id with `matterstack status`, or pass --workspaces-root",
    )


def all_runs(root: Path) -> list[Path]:
    """Every run directory of the project, oldest run id first."""
    found = {p.resolve() for paths in _indexed_runs(root).values() for p in paths
             if (p / "state.sqlite").is_file()}
    found.update(p.resolve() for p in runs_below(project_root(root)))
    return sorted(found, key=lambda p: p.name)


def _indexed_runs(root: Path) -> dict[str, list[Path]]:
    index = project_root(root) / RUN_INDEX
    runs: dict[str, list[Path]] = {}
    if not index.is_file():
        return runs
    for line in index.read_text().splitlines():
        try:
            entry = json.loads(line)
            runs.setdefault(entry["run_id"], []).append(Path(entry["path"]))
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line from a crash; the scan below still finds the run
    return runs


def runs_below(top: Path):
    """Yield ``.../runs/<run_id>`` folders holding a state database, below ``top``."""
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        here = Path(dirpath)
        if here.parent.name == "runs" and "state.sqlite" in filenames:
            dirnames[:] = []
            yield here
