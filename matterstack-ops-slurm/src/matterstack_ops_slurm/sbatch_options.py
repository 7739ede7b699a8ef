"""sbatch's long options, as its manual documents them (sbatch(1) of Slurm 22.05), and how a
``slurm`` block's key becomes an ``#SBATCH`` directive.

A key may be written in sbatch's spelling (``mail-user``) or with underscores (``mail_user``);
both are the same directive. MatterStack's own settings (``partition``, ``cpus_per_task``,
``memory_gb``, ``gpus``, ...) are read first; any other key sbatch documents is passed through
as ``#SBATCH --name=value`` (``true``: the bare flag, ``false``: left out), after the same
check as every directive value: sbatch reads directives without a shell, so a value must be a
plain Slurm word.
"""

from __future__ import annotations

import re

REQUIRED, OPTIONAL, NONE = "required", "optional", "none"
"""Whether an option takes a value: always (``--mem=16G``), optionally (``--exclusive[=user]``)
or never (``--requeue``)."""

_REQUIRED = """
account acctg-freq array batch bb bbf begin chdir cluster-constraint clusters comment constraint
container core-spec cores-per-socket cpu-freq cpus-per-gpu cpus-per-task deadline delay-boot
dependency distribution error exclude export export-file extra-node-info gid gpu-bind gpu-freq
gpus gpus-per-node gpus-per-socket gpus-per-task gres gres-flags hint input job-name
kill-on-invalid-dep licenses mail-type mail-user mcs-label mem mem-bind mem-per-cpu mem-per-gpu
mincpus network nodefile nodelist nodes ntasks ntasks-per-core ntasks-per-gpu ntasks-per-node
ntasks-per-socket open-mode output partition power prefer priority profile qos reservation
signal sockets-per-node switches thread-spec threads-per-core time time-min tmp uid
wait-all-nodes wckey wrap
"""
_OPTIONAL = "exclusive get-user-env nice no-kill propagate"
_NONE = """
contiguous help hold ignore-pbs no-requeue overcommit oversubscribe parsable quiet reboot requeue
spread-job test-only usage use-min-nodes verbose version wait
"""

SBATCH_OPTIONS: dict[str, str] = {
    **{name: REQUIRED for name in _REQUIRED.split()},
    **{name: OPTIONAL for name in _OPTIONAL.split()},
    **{name: NONE for name in _NONE.split()},
}
"""Every long option of sbatch(1), by name, with whether it takes a value."""

RESERVED: dict[str, str] = {
    "job-name": "MatterStack names each job after its attempt and finds it by that name",
    "output": "MatterStack keeps Slurm's output in the job's .matterstack folder",
    "chdir": "MatterStack runs each job in its own work directory",
    "array": "MatterStack builds the arrays itself: set job_arrays: true (and array_parallel) instead",
    "wrap": "MatterStack writes the job script itself",
    "parsable": "it changes what sbatch prints, which MatterStack reads",
    "test-only": "the job would never run; use dry_run: true to see what would be submitted",
    "wait": "a tick must not block until the job ends",
    "help": "it is not a job option",
    "usage": "it is not a job option",
    "version": "it is not a job option",
    "quiet": "it changes what sbatch prints, which MatterStack reads",
    "verbose": "it changes what sbatch prints, which MatterStack reads",
}
"""Options sbatch documents that a ``slurm`` block cannot set, and why."""

SBATCH_SPELLINGS: dict[str, str] = {
    spelling: name for name in SBATCH_OPTIONS for spelling in (name, name.replace("-", "_"))
}
"""Every accepted spelling of an sbatch option (``mail-user``, ``mail_user``) → its name."""

_WORD = re.compile(r"[A-Za-z0-9_.:,+=@/%-]+\Z")


def is_directive_word(text: str) -> bool:
    """Whether sbatch reads ``text`` in a directive exactly as written: letters, digits and
    ``_ . : , + = @ / % -``, nothing a shell or sbatch's own parser would change."""
    return bool(_WORD.match(text))


def option_problem(name: str, value: object) -> str | None:
    """Why ``name: value`` cannot be an ``#SBATCH`` directive, or None when it can."""
    if name in RESERVED:
        return f"sbatch --{name} cannot be set here: {RESERVED[name]}"
    takes = SBATCH_OPTIONS[name]
    if isinstance(value, bool):
        if takes == REQUIRED:
            return f"sbatch --{name} takes a value, found {str(value).lower()}"
        return None
    if takes == NONE:
        return f"sbatch --{name} takes no value: write true to set it or false to leave it out"
    if not is_directive_word(str(value)):
        return (f"sbatch --{name} {str(value)!r} has characters sbatch cannot take in a directive "
                f"(use letters, digits and _ . : , + = @ / % -)")
    return None


def option_directive(name: str, value: object) -> str | None:
    """The ``#SBATCH`` line of a checked option, or None for a flag set to false."""
    if value is False:
        return None
    if value is True:
        return f"#SBATCH --{name}"
    return f"#SBATCH --{name}={value}"
