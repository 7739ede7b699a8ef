"""Job arrays (``slurm: {job_arrays: true}``): which jobs of a batch go as one ``sbatch
--array``, and the driver script each array element runs. Pure functions, no I/O.

Jobs asking for the same sbatch options (partition, account, qos, time, resources and every
other directive but the job's name and output files) form one *shape*; the jobs of one shape
in one batch become arrays of at most ``limit`` elements (the site's ``MaxArraySize``, or a
smaller limit learned from back-pressure). Element ``k`` of an array runs the ``submit.sh`` of
the ``k``-th line of the array's ``workdirs`` list in that work directory, exactly as a plain
job would: same files, same exit-code record, Slurm's own output in the job's
``.matterstack/slurm-<job id>.out``. The attempt's external id is ``<array job>_<k>``.

The array is named ``a.<token of its first element>``; before sbatch runs, each element's work
directory records ``<array name>|<k>`` (:data:`ARRAY_FILE`), so a batch killed between sbatch
and the job-id records is adopted by name later instead of submitted twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from matterstack.plugins import JobSpec
from matterstack_ops_slurm import scheduler
from matterstack_ops_slurm.register import SlurmDefaults

ARRAY_FILE = f"{scheduler.CONTROL_DIR}/array"
ELEMENT_ID_FILE = f"{scheduler.CONTROL_DIR}/slurm_job_id"
"""The element's own job id (``SLURM_JOB_ID``): completion records of a site without
slurmdbd (``sacct -c``) know elements only by it."""
NAME_PREFIX = "a."

_PER_JOB = {"job-name", "output", "error", "input"}


def shape(job: JobSpec, defaults: SlurmDefaults) -> tuple | None:
    """The sbatch options ``job`` shares with the other elements of its array, or None for a
    job that must go alone (one naming its own error or input file)."""
    options = scheduler.directives(job, defaults)
    if any(name in ("error", "input") for name, _ in options):
        return None
    return tuple((name, str(value)) for name, value in options if name not in _PER_JOB)


def groups(shapes: Iterable[tuple | None], limit: int) -> list[int | None]:
    """The array number of each job, in order (None: submitted alone): jobs of one shape
    share arrays of at most ``limit`` elements; a job left alone goes as a plain job."""
    members: dict[tuple, list[int]] = {}
    order = list(shapes)
    for index, key in enumerate(order):
        if key is not None:
            members.setdefault(key, []).append(index)
    number: list[int | None] = [None] * len(order)
    next_group = 0
    for indexes in members.values():
        if len(indexes) < 2:
            continue
        for start in range(0, len(indexes), max(limit, 1)):
            chunk = indexes[start:start + max(limit, 1)]
            if len(chunk) < 2:
                continue
            for index in chunk:
                number[index] = next_group
            next_group += 1
    return number


def driver_script(job: JobSpec, defaults: SlurmDefaults) -> str:
    """The script sbatch runs for every element of the array ``job`` is the first of: the
    shared directives, then the element's own ``submit.sh`` in its own work directory. Its
    first argument is the array's ``workdirs`` list (one work directory per line)."""
    lines = ["#!/bin/bash"]
    for name, value in scheduler.directives(job, defaults):
        if name not in _PER_JOB:
            lines.append(f"#SBATCH --{name}" if value is True else f"#SBATCH --{name}={scheduler.directive_value(name, value)}")
    lines += [
        "# MatterStack job array: element k runs the submit.sh of line k+1 of the list",
        'workdir=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" "$1")',
        'cd "$workdir" || exit 1',
        f'echo "$SLURM_JOB_ID" > {ELEMENT_ID_FILE}',
        f'exec /bin/bash {scheduler.SCRIPT} > "{scheduler.CONTROL_DIR}/slurm-$SLURM_JOB_ID.out" 2>&1 < /dev/null',
    ]
    return "\n".join(lines) + "\n"


def array_spec(size: int, parallel: int | None) -> str:
    """``--array``'s value for ``size`` elements."""
    return f"0-{size - 1}" + (f"%{parallel}" if parallel else "")


def element_index(job_id: str) -> tuple[str, str] | None:
    """``("123", "4")`` for array element ``123_4``; None for a plain job id."""
    master, sep, index = job_id.partition("_")
    return (master, index) if sep and index.isdigit() else None
