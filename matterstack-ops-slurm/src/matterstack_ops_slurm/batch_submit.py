"""Submitting many jobs in one round trip: the inputs of every job go up as one tar on the
standard input of one remote script, which checks every token, adopts the jobs that exist
and submits the rest, answering one line per token as it goes.

The script, run by ``sh`` on the login node (or the local shell):

1. takes ``<workspace_root>/.matterstack-batches/lock`` (``flock``, where the cluster has it),
   so a batch still running from a killed tick ends before the next one looks at the queue,
   and removes what killed batches left unpacked;
2. unpacks the tar into a fresh folder there (the layout is in
   :mod:`~matterstack_ops_slurm.batch_script`): a line per job, each job's files and sbatch
   arguments, each job array's driver script;
3. asks squeue and the site's accounting once for every token, as reconcile does (for a job
   whose work directory records an array, ``.matterstack/array``, for that array's name);
4. for each job in order: a job-id record in its work directory, or a job squeue or the
   accounting knows by its token (or its array's name and index), is adopted
   (``adopted|token|id``); the files of all the others are copied into their work
   directories with one tar pipeline, then sbatch runs in each (``submitted|token|id``, the
   id is written to ``.matterstack/job_id`` before the line), or sbatch's error is answered
   (``failed|token|error``). Jobs of a group are
   submitted after the others, one ``sbatch --array`` per group
   (:mod:`~matterstack_ops_slurm.job_arrays`), each element answered as ``<job>_<index>``.
   After a refusal that means "no more jobs from you for now"
   (:mod:`~matterstack_ops_slurm.submit_limits`) or an error that means the controller is not
   answering, it submits nothing more: that job's line is ``refused|`` or ``outage|`` and every
   later job's is ``waiting|token|``.

A script killed midway (its tick was killed, the connection dropped) leaves every answered
job recorded on both sides; a token it never answered is found again by the next tick's
reconcile, or by the next batch's own check.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import tempfile
from pathlib import Path

import attrs

from matterstack_ops_slurm.batch_script import DRIVERS_DIR, JOBS_FILE, OPTIONS_DIR, batch_folder, script

__all__ = ["PackedJob", "pack", "parse_answer", "script"]


@attrs.frozen
class PackedJob:
    """One job of a batch: its number in the batch, token, job array (None: a job of its
    own), work directory on the cluster (absolute, and relative to the workspace root), the
    local folder of its files and its extra sbatch arguments."""

    index: int
    token: str
    group: int | None
    relative: str
    workdir: str
    folder: Path
    arguments: tuple[str, ...] = ()

    def line(self) -> str:
        return f"{self.index}|{self.token}|{'' if self.group is None else self.group}|{self.relative}|{self.workdir}\n"


def pack(batch: str, jobs: list[PackedJob], drivers: dict[int, str] | None = None) -> tempfile.SpooledTemporaryFile:
    """One tar to unpack in the workspace root: each job's files under its relative work
    directory (symlinks are left out, as the per-job upload did), and in the batch's folder
    (:func:`~matterstack_ops_slurm.batch_script.batch_folder`) the ``jobs`` list, each job's
    sbatch arguments as ``options/<index>`` and each job array's driver script as
    ``drivers/<group>.sh``. Rewound, ready to be read."""
    stream = tempfile.TemporaryFile()
    folder = batch_folder(batch)
    with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_text(tar, f"{folder}/{JOBS_FILE}", "".join(job.line() for job in jobs).encode())
        for group, text in (drivers or {}).items():
            _add_text(tar, f"{folder}/{DRIVERS_DIR}/{group}.sh", text.encode())
        for job in jobs:
            if job.arguments:
                _add_text(tar, f"{folder}/{OPTIONS_DIR}/{job.index}", "".join(a + "\n" for a in job.arguments).encode())
            _add_folder(tar, job.folder, job.relative)
    stream.seek(0)
    return stream


def _add_text(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _add_folder(tar: tarfile.TarFile, folder: Path, name: str) -> None:
    _add_entry(tar, str(folder), name)
    for root, dirs, files in os.walk(folder):
        relative = os.path.relpath(root, folder)
        prefix = name if relative == "." else f"{name}/{Path(relative).as_posix()}"
        for entry in sorted(dirs) + sorted(files):
            _add_entry(tar, os.path.join(root, entry), f"{prefix}/{entry}")
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]


def _add_entry(tar: tarfile.TarFile, path: str, arcname: str) -> None:
    """One folder or regular file (symlinks and special files are left out, as the per-job
    upload did), from one ``lstat``: no owner lookups (the script unpacks with
    ``--no-same-owner``) and the time in whole seconds (a fractional one costs each entry a
    PAX header block of its own: twice the entries to write and to unpack)."""
    status = os.lstat(path)
    info = tarfile.TarInfo(arcname)
    info.mode = stat.S_IMODE(status.st_mode)
    info.mtime = int(status.st_mtime)
    if stat.S_ISDIR(status.st_mode):
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    elif stat.S_ISREG(status.st_mode):
        info.size = status.st_size
        with open(path, "rb") as data:
            tar.addfile(info, data)


def parse_answer(line: str) -> tuple[str, str, str] | None:
    """``(kind, token, detail)`` of one answer line; None for anything else."""
    kind, sep, rest = line.rstrip("\n").partition("|")
    token, sep2, detail = rest.partition("|")
    if not sep or not sep2 or kind not in ("adopted", "submitted", "failed", "refused", "outage", "waiting", "error"):
        return None
    return kind, token, detail.strip()
