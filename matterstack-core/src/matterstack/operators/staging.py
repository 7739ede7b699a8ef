"""Putting a task's files into a directory, and finding what came back, safely.

Every path is checked to stay inside its directory: keys with ``..``, absolute keys, and
symlinks pointing outside are refused with the key named.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import hashlib
import json
import os
import shutil
from pathlib import Path

from matterstack.core.workflow import FileFromContent, FileFromPath
from matterstack.errors import PermanentOperatorError

CONTROL_ENTRIES = frozenset({".matterstack", ".matterstack-cancel", ".matterstack-relaunched", "manifest.json",
                             "config_snapshot"})


def sha256_file(path: Path) -> str:
    """The file's sha256, read in 1 MiB blocks with bare os calls (a third of the time
    ``open()`` takes for the small files most attempts leave, and three are hashed per
    attempt)."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        while block := os.read(fd, 1 << 20):
            digest.update(block)
    finally:
        os.close(fd)
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
    """Write ``task.files`` into ``dest``; return each staged file's sha256 by key.

    A copied file keeps its source's permissions, less what the umask takes away, as ``cp``
    does (a 0640 source stays 0640, a script stays executable); inline text is written 0600:
    it may hold what the task's env holds.
    """
    _room_for(task, dest)
    hashes = {}
    for key, spec in sorted(task.files.items()):
        target = inside(dest, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(spec, FileFromPath):
            source = Path(spec.source_path).expanduser()
            if not source.is_file():
                raise PermanentOperatorError(
                    f"task {task.task_id}: file {key!r} comes from {source}, which does not exist",
                    fix="check the path given to FileFromPath (a relative one is found from the workspace folder)",
                )
        try:
            if isinstance(spec, FileFromPath):
                _copy_keeping_mode(source, target)
            else:
                _write_new(target, spec.content if isinstance(spec, FileFromContent) else str(spec))
        except OSError:
            # A half-written copy on a full disk holds the space the run's database needs to
            # record what happened; the next try writes the whole file again.
            with contextlib.suppress(OSError):  # a folder of that name, say: leave it be
                target.unlink(missing_ok=True)
            raise
        hashes[key] = sha256_file(target)
    return hashes


def _room_for(task, dest: Path) -> None:
    """ENOSPC before writing anything when the disk of ``dest`` has less room than the
    task's copied inputs take: a copy started anyway would fill the disk for a moment at
    every tick that tries it again, and the jobs running beside it would fail to write."""
    needed = 0
    for spec in task.files.values():
        if isinstance(spec, FileFromPath):
            with contextlib.suppress(OSError):  # a missing source is named when it is copied
                needed += os.stat(Path(spec.source_path).expanduser()).st_size
    if needed == 0:
        return
    try:
        disk = os.statvfs(dest)
    except OSError:  # a disk that cannot say: the copy finds out
        return
    if needed > disk.f_bavail * disk.f_frsize:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dest))


def write_manifest(task, dest: Path, *, operator_key: str, token: str, hashes: dict[str, str]) -> None:
    """``manifest.json`` (the task as submitted) and ``config_snapshot/inputs.json``
    (sha256 of every staged input)."""
    from matterstack.core.convert import task_to_record  # cattrs: only once a tick submits

    manifest = {"operator_key": operator_key, "token": token, "task": task_to_record(task)}
    _write_new(os.path.join(dest, "manifest.json"), json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    snapshot = os.path.join(dest, "config_snapshot")
    try:
        os.mkdir(snapshot)
    except FileExistsError:
        pass
    _write_new(os.path.join(snapshot, "inputs.json"), json.dumps(hashes, indent=2, sort_keys=True) + "\n")


def _copy_keeping_mode(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target``, created anew with the source's permission bits (the
    umask applies). A copy an earlier prepare left is replaced, even a read-only one."""
    with open(source, "rb") as reader:
        mode = os.fstat(reader.fileno()).st_mode & 0o777
        target.unlink(missing_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        with open(fd, "wb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)


def _write_new(path: str | Path, text: str) -> None:
    """Write a file with bare os calls (one ``write`` for a small file; ``Path.write_text``
    costs a third more), created 0600 (the umask may take away more): the manifest and
    inline inputs may hold the task's env values."""
    data = memoryview(text.encode())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


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
    filtered by ``patterns``; symlinks are never followed out of the folder, and a symlinked
    folder is not descended into."""
    found = {}
    base = None  # the folder's real path, needed only once a symlink turns up
    pending = [("", os.fspath(folder))]
    while pending:
        prefix, path = pending.pop()
        try:
            entries = list(os.scandir(path))
        except OSError:
            continue  # gone or unreadable: nothing to collect there (as os.walk has it)
        for entry in entries:
            if not prefix and entry.name in CONTROL_ENTRIES:
                continue
            relative = prefix + entry.name
            if entry.is_symlink():
                base = base or folder.resolve()
                if entry.is_dir() or not Path(entry.path).resolve().is_relative_to(base):
                    continue
            elif entry.is_dir():
                pending.append((relative + "/", entry.path))
                continue
            if entry.is_file() and matches(relative, patterns):
                found[relative] = Path(entry.path)
    return found
