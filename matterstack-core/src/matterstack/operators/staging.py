"""Putting a task's files into a directory, and finding what came back, safely.

Every path is checked to stay inside its directory: keys with ``..``, absolute keys, and
symlinks pointing outside are refused with the key named.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
from pathlib import Path

from matterstack.core.workflow import FileFromContent, FileFromPath
from matterstack.errors import PermanentOperatorError

CONTROL_ENTRIES = frozenset({".matterstack", "manifest.json", "config_snapshot"})


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inside(base: Path, key: str) -> Path:
    """``base / key``, refusing any key that would land outside ``base``."""
    base = base.resolve()
    target = (base / key).resolve()
    if key.startswith("/") or not target.is_relative_to(base) or target == base:
        raise PermanentOperatorError(f"file key {key!r} escapes the attempt directory",
                                     fix="use a relative path without '..'")
    return target


def stage_files(task, dest: Path) -> dict[str, str]:
    """Write ``task.files`` into ``dest``; return each staged file's sha256 by key."""
    hashes = {}
    for key, spec in sorted(task.files.items()):
        target = inside(dest, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(spec, FileFromPath):
            source = Path(spec.source_path).expanduser()
            if not source.is_file():
                raise PermanentOperatorError(
                    f"task {task.task_id}: file {key!r} comes from {source}, which does not exist",
                    fix="check the path given to FileFromPath",
                )
            shutil.copyfile(source, target)
        else:
            content = spec.content if isinstance(spec, FileFromContent) else str(spec)
            target.write_text(content)
        hashes[key] = sha256_file(target)
    return hashes


def write_manifest(task, dest: Path, *, operator_key: str, token: str, hashes: dict[str, str]) -> None:
    """``manifest.json`` (the task as submitted) and ``config_snapshot/inputs.json``
    (sha256 of every staged input)."""
    from matterstack.core.convert import task_to_record  # cattrs: only once a tick submits

    manifest = {"operator_key": operator_key, "token": token, "task": task_to_record(task)}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    snapshot = dest / "config_snapshot"
    snapshot.mkdir(exist_ok=True)
    (snapshot / "inputs.json").write_text(json.dumps(hashes, indent=2, sort_keys=True) + "\n")


def matches(name: str, patterns: dict[str, list[str]] | None) -> bool:
    """Whether a relative file name passes ``download_patterns`` (include, then exclude)."""
    if not patterns:
        return True
    include = patterns.get("include") or ["*"]
    exclude = patterns.get("exclude") or []
    return any(fnmatch.fnmatch(name, g) for g in include) and not any(
        fnmatch.fnmatch(name, g) for g in exclude
    )


def list_outputs(folder: Path, patterns: dict[str, list[str]] | None) -> dict[str, Path]:
    """Regular files under ``folder`` (relative name → path), control files left out,
    filtered by ``patterns``; symlinks are never followed out of the folder."""
    found = {}
    base = folder.resolve()
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        if here == folder:
            dirnames[:] = [d for d in dirnames if d not in CONTROL_ENTRIES]
            filenames = [f for f in filenames if f not in CONTROL_ENTRIES]
        for name in filenames:
            path = here / name
            if path.is_symlink() and not path.resolve().is_relative_to(base):
                continue
            relative = path.relative_to(folder).as_posix()
            if path.is_file() and matches(relative, patterns):
                found[relative] = path
    return found
