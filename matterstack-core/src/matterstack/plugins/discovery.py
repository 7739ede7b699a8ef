"""The installed distributions' entry points of one group, found once and remembered.

:mod:`importlib.metadata` finds them by reading the metadata of every installed
distribution, and imports ``email``, ``zipfile`` and more to do so: 25-50 ms of every start of
the ``matterstack`` command. What it found is kept in a file of the user's cache folder
(``$XDG_CACHE_HOME/matterstack``, else ``~/.cache/matterstack``) beside a fingerprint of all
it depends on: the interpreter, ``sys.path``, and in each folder on it every ``*.dist-info``
and ``*.egg-info`` with the modification times of it, of its ``METADATA`` (``PKG-INFO``) and
of its ``entry_points.txt`` (a zip file on ``sys.path``: its own time). Installing, upgrading or
removing a distribution adds or removes such a folder (pip never rewrites one in place), and
editing metadata in place changes a file's time, so each of them makes the next start read
the metadata again. A fingerprint holding a time less than two seconds old is not stored: a
change within the file system's timestamp granularity could otherwise go unseen. A cache that
cannot be read or written is no cache; a ``sys.meta_path`` finder other than the standard one
that can find distributions turns it off.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
import time
from importlib import import_module
from importlib.machinery import PathFinder
from pathlib import Path
from typing import Any, NamedTuple

CACHE_FORMAT = 1
KEPT_PATHS = 8
"""Fingerprints kept per cache file: one per ``sys.path`` seen (``python -m`` puts the
current folder first), the oldest dropped first."""
SETTLED_NS = 2_000_000_000
_METADATA_FILES = {".dist-info": ("METADATA", "entry_points.txt"), ".egg-info": ("PKG-INFO", "entry_points.txt")}
"""The files of a metadata folder that hold a distribution's name, version and entry points."""
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")
"""importlib.metadata's reading of an entry point's value (``module:attr [extras]``)."""


class FoundEntryPoint(NamedTuple):
    """One entry point of an installed distribution, as importlib.metadata reports it.

    (This module's records are named tuples, not attrs classes: every command starts here,
    and an attrs class costs half a millisecond to make.)"""

    name: str
    value: str
    group: str
    distribution: str
    version: str

    def load(self) -> Any:
        """Import the object the entry point names, as ``importlib.metadata.EntryPoint.load`` does."""
        match = _VALUE.match(self.value)
        if match is None:  # malformed: importlib.metadata's own error, word for word
            from importlib.metadata import EntryPoint

            return EntryPoint(self.name, self.value, self.group).load()
        names = filter(None, (match.group("attr") or "").split("."))
        return functools.reduce(getattr, names, import_module(match.group("module")))


class Installed(NamedTuple):
    """The entry points of a group, in importlib.metadata's order, and the version of one
    distribution (None when it is not installed)."""

    entry_points: tuple[FoundEntryPoint, ...]
    version: str | None


def installed(group: str, distribution: str) -> Installed:
    """The entry points of ``group`` and the version of ``distribution``, from the cache when
    nothing they depend on changed since it was written."""
    if any(finder is not PathFinder and hasattr(finder, "find_distributions") for finder in sys.meta_path) or any(
            type(entry) is not str for entry in sys.path):
        return _read_metadata(group, distribution)
    key = "\n".join((group, distribution, sys.executable, *sys.path))
    fingerprint, settled = _fingerprint()
    path = _cache_file()
    entries = _read_cache(path)
    try:
        kept = entries[key]
        if kept["fingerprint"] == fingerprint:
            return Installed(tuple(FoundEntryPoint(*found) for found in kept["entry_points"]), kept["version"])
    except (KeyError, TypeError, ValueError):  # not there, or not written by this code
        pass
    found = _read_metadata(group, distribution)
    if settled and path is not None:
        entries.pop(key, None)
        entries[key] = {"fingerprint": fingerprint, "version": found.version,
                        "entry_points": [list(entry_point) for entry_point in found.entry_points]}
        _write_cache(path, dict(list(entries.items())[-KEPT_PATHS:]))
    return found


def _read_metadata(group: str, distribution: str) -> Installed:
    from importlib import metadata

    entry_points = tuple(
        FoundEntryPoint(entry_point.name, entry_point.value, group, entry_point.dist.name, entry_point.dist.version)
        for entry_point in metadata.entry_points(group=group)
    )
    try:
        version = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        version = None
    return Installed(entry_points, version)


def _fingerprint() -> tuple[list, bool]:
    """What the installed metadata depends on, as JSON values; and whether every time in it is
    old enough to be trusted."""
    now = time.time_ns()
    newest = 0
    stamps: list = [sys.hexversion]
    for entry in sys.path:
        folder = entry or "."
        try:
            children = os.scandir(folder)
        except NotADirectoryError:
            stamp = _mtime(folder)
            stamps.append([entry, stamp])
            newest = max(newest, stamp or 0)
            continue
        except OSError:
            stamps.append([entry, None])
            continue
        egg = folder.lower().endswith(".egg")
        found = []
        with children:
            for child in children:
                low = child.name.lower()
                if low.endswith((".dist-info", ".egg-info")) or (egg and low == "egg-info"):
                    files = _METADATA_FILES[".dist-info" if low.endswith(".dist-info") else ".egg-info"]
                    times = [_mtime(child.path), *(_mtime(os.path.join(child.path, name)) for name in files)]
                    newest = max(newest, *(t or 0 for t in times))
                    found.append([child.name, times])
        stamps.append([entry, found])
    return stamps, now - newest >= SETTLED_NS


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _cache_file() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME") or (os.path.join(os.path.expanduser("~"), ".cache"))
    if not os.path.isabs(base):  # no home folder: remember nothing
        return None
    return Path(base) / "matterstack" / f"entry-points-{CACHE_FORMAT}.json"


def _read_cache(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        entries = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return entries if type(entries) is dict else {}


def _write_cache(path: Path, entries: dict[str, Any]) -> None:
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(entries))
        os.replace(temporary, path)
    except OSError:  # a read-only home: the next start reads the metadata again
        with contextlib.suppress(OSError):
            temporary.unlink()
