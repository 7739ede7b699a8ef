"""Bringing the outputs of many finished jobs down in one round trip: one remote ``tar`` reads
the list of their work directories on its standard input and writes one archive of them all
to its standard output (:meth:`Transport.run_to_file`), which is unpacked here into each job's
attempt directory.

What is unpacked: each job's regular files that pass its ``include``/``exclude`` globs, and
its control files (``.matterstack/``), which always come back. The globs are applied here:
a job whose ``include`` names plain files (no ``*?[``, as the stderr a failed job's reason
quotes) sends only those and its control folder, any other sends its whole work directory,
excluded files too. Symbolic links travel as links and are skipped, so nothing is
followed out of a work directory (as over SFTP); hard links travel as files
(``--hard-dereference``). A member named outside every work directory asked for, or through
``..``, can only come from something that is not the archive asked for: the whole archive is
refused (the jobs are then fetched one at a time). Nothing is written outside a destination,
nor through a symbolic link already there.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

import attrs

from matterstack.errors import PermanentOperatorError, TransientOperatorError
from matterstack.plugins import FetchRequest
from matterstack_ops_slurm.transport import CONTROL_DIR, selected

COMMAND = ('while IFS= read -r path; do if [ -e "$path" ]; then printf \'%s\\n\' "$path"; fi; done'
           ' | tar -c -f - -P --hard-dereference --no-unquote -T -')
"""The remote command: the paths asked for that exist, archived under the names given
(``-P``); a missing one (nothing was ever staged there) brings nothing, as a download does."""
_GLOB_CHARS = frozenset("*?[")


@attrs.frozen
class Destination:
    """Where the files of one work directory go, and which of them."""

    job_id: str
    dest: Path
    include: list[str] | None = None
    exclude: list[str] | None = None


class RefusedArchive(Exception):
    """The archive names a member outside the work directories asked for."""


def fetch_jobs(backend, requests: list[FetchRequest]) -> dict[str, Exception]:
    """Bring the outputs of ``requests`` down through ``backend``'s transport in one command;
    the error of each job that could not be brought in, by job id."""
    failures: dict[str, Exception] = {}
    destinations: dict[str, Destination] = {}
    for request in requests:
        workdir = backend.workdir_of(request.job_id)
        if workdir is None:
            failures[request.job_id] = PermanentOperatorError(
                f"no record of where Slurm job {request.job_id} ran", where=str(backend.index),
                fix="copy its outputs by hand")
        elif not (backend.settings.ssh is None and Path(workdir).resolve() == Path(request.dest).resolve()):
            destinations[workdir] = Destination(request.job_id, Path(request.dest), request.include, request.exclude)
    if not destinations:
        return failures
    label = backend.transport.label
    backend.index.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryFile(dir=backend.index) as archive:
            result = backend.transport.run_to_file(COMMAND, path_list(destinations), archive, backend.timeout)
            archive.seek(0)
            unpack(archive, destinations)
    except TransientOperatorError as exc:
        return {**failures, **{d.job_id: exc for d in destinations.values()}}
    except (RefusedArchive, tarfile.TarError, OSError) as exc:
        error = TransientOperatorError(f"{label}: the archive of results could not be unpacked: {exc}",
                                       fix="check that the cluster's tar is GNU tar; the jobs are fetched one at a time")
        return {**failures, **{d.job_id: error for d in destinations.values()}}
    if result.exit_code != 0:
        said = " ".join(result.stderr.split())
        named = [d for workdir, d in destinations.items() if workdir + "/" in said] or list(destinations.values())
        error = TransientOperatorError(f"{label}: `tar` of the results failed: {said[:300] or result.exit_code}",
                                       fix="the next tick retries")
        failures.update((d.job_id, error) for d in named)
    return failures


def path_list(destinations: dict[str, Destination]) -> BinaryIO:
    """The standard input of :data:`COMMAND`: one path a line (a work directory, or the plain
    files its ``include`` names and its control folder), a relative one as ``./name`` (tar
    must never read a name as an option). Rewound, ready to be read."""
    paths = [path for workdir, destination in destinations.items() for path in _asked(workdir, destination.include)]
    stream = tempfile.TemporaryFile()
    stream.write("".join(f"{p if p.startswith('/') else './' + p}\n" for p in paths).encode())
    stream.seek(0)
    return stream


def _asked(workdir: str, include: list[str] | None) -> list[str]:
    plain = bool(include) and all(
        name and not _GLOB_CHARS & set(name) and not name.startswith("/") and ".." not in name.split("/")
        for name in include)
    return [f"{workdir}/{name}" for name in (CONTROL_DIR, *include)] if plain else [workdir]


def unpack(archive: BinaryIO, destinations: dict[str, Destination]) -> None:
    """Write the files of ``archive`` (a tar stream of the work directories named by
    ``destinations``' keys, under those names) into their destinations; see the module
    docstring for what is kept. RefusedArchive at a member named outside them."""
    roots = {_parts(workdir): destination for workdir, destination in destinations.items()}
    safe_folders: set[Path] = set()
    with tarfile.open(fileobj=archive, mode="r|") as stream:
        for member in stream:
            parts = _parts(member.name)
            found = _owner(parts, roots) if parts is not None else None
            if found is None:
                if parts in roots and member.isdir():
                    continue  # the work directory itself
                raise RefusedArchive(f"it holds {member.name!r}, outside the work directories asked for")
            destination, name = found
            if not member.isfile() or not selected(name, destination.include, destination.exclude):
                continue
            target = destination.dest / name
            if not _inside(target.parent, destination.dest, safe_folders) or target.is_symlink():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with stream.extractfile(member) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)


def _parts(name: str) -> tuple[str, ...] | None:
    """A path as a key: its parts, ``/`` first for an absolute one; None if it goes through ``..``."""
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        return None
    return ("/", *parts) if name.startswith("/") else parts


def _owner(parts: tuple[str, ...], roots: dict) -> tuple[Destination, str] | None:
    """The destination of the deepest work directory holding ``parts``, and the name there."""
    for depth in range(len(parts) - 1, 0, -1):
        destination = roots.get(parts[:depth])
        if destination is not None:
            return destination, "/".join(parts[depth:])
    return None


def _inside(folder: Path, dest: Path, known: set[Path]) -> bool:
    """Whether ``folder`` is ``dest`` or under it once the symbolic links already there are
    followed (a link in an attempt directory must not lead a file out)."""
    if folder in known:
        return True
    inside = folder.resolve().is_relative_to(dest.resolve())
    if inside:
        known.add(folder)
    return inside
