"""The checks ``matterstack doctor`` runs for a slurm backend: can we reach the login node,
does Slurm answer, do the configured partition and account exist, which accounting does the
site keep, how long does squeue remember finished jobs, would sbatch take a job, can we
write the workspace root. Each check is ``(name, ok, detail)``; one failure does not stop
the others, except that nothing is tried once the cluster cannot be reached.
"""

from __future__ import annotations

import shlex

from matterstack.errors import MatterStackError

ACCOUNTING_WORDS = {
    "slurmdbd": "slurmdbd: sacct has every job",
    "jobcomp": "completion records only (sacct -c)",
    "none": "none: finished jobs are found by their exit-code files only",
}


def run_checks(backend) -> list[tuple[str, bool, str]]:
    """Run every check against ``backend`` (a SlurmBackend) and return the results in order."""
    checks: list[tuple[str, bool, str]] = []
    try:
        hello = backend.transport.run("true", backend.timeout)
        reached = hello.exit_code == 0
        detail = f"connected to {backend.transport.label}" if reached else hello.stderr.strip()
    except MatterStackError as exc:
        reached, detail = False, exc.one_line()
    checks.append(("ssh" if backend.settings.ssh else "shell", reached, detail))
    if not reached:
        return checks + [("slurm", False, "not checked: the cluster cannot be reached")]
    for name, check in (("sinfo", _sinfo), ("partition", _partition), ("accounting", _accounting),
                        ("account", _account), ("MinJobAge", _min_job_age), ("sbatch", _sbatch),
                        ("workspace_root", _workspace_root)):
        try:
            ok, detail = check(backend)
        except MatterStackError as exc:
            ok, detail = False, exc.one_line()
        checks.append((name, ok, detail))
    return checks


def settings_problems(backend) -> list[tuple[str, str, str]]:
    """What ``operators check --cluster`` refuses: a partition sbatch would refuse."""
    wanted = backend.defaults.partition
    if wanted is None:
        return []
    partitions = [name.rstrip("*") for name in _partitions(backend)]
    if wanted in partitions:
        return []
    return [("slurm.partition", f"partition {wanted!r} does not exist on {backend.transport.label} "
                                f"(sinfo lists: {', '.join(partitions) or 'none'})",
             "use one of those, or leave partition out for the cluster's default")]


def _partitions(backend) -> dict[str, str]:
    """Partition name → availability (``up``), the default one marked with ``*``."""
    text = backend.query("sinfo -h -o '%P|%a'").stdout
    return dict(line.split("|", 1) for line in text.split() if "|" in line)


def _sinfo(backend) -> tuple[bool, str]:
    partitions = _partitions(backend)
    return bool(partitions), "partitions: " + (", ".join(partitions) or "none")


def _partition(backend) -> tuple[bool, str]:
    partitions = {name.rstrip("*"): state for name, state in _partitions(backend).items()}
    default = next((name.rstrip("*") for name in _partitions(backend) if name.endswith("*")), None)
    wanted = backend.defaults.partition
    if wanted is None:
        return default is not None, f"none set: Slurm's default ({default or 'none'})"
    if wanted not in partitions:
        return False, f"partition {wanted} does not exist (there are: {', '.join(partitions) or 'none'})"
    return partitions[wanted] == "up", f"partition {wanted} exists ({partitions[wanted]})"


def _accounting(backend) -> tuple[bool, str]:
    return True, ACCOUNTING_WORDS[backend.site.accounting]


def _account(backend) -> tuple[bool, str]:
    account = backend.defaults.account
    if account is None:
        return True, "none set"
    if backend.site.accounting != "slurmdbd":
        return True, f"{account}: not checked (no accounting database; sbatch takes it as given)"
    found = backend.query(f"sacctmgr -n -P list assoc account={shlex.quote(account)} format=account,user").stdout
    users = sorted({line.split("|")[1] for line in found.split() if "|" in line and line.split("|")[1]})
    if not found.strip():
        return False, f"account {account} does not exist"
    return True, f"account {account} exists (users: {', '.join(users) or 'none'})"


def _min_job_age(backend) -> tuple[bool, str]:
    age = backend.site.min_job_age
    if age is None:
        return False, "MinJobAge unknown (scontrol show config does not say)"
    return True, f"MinJobAge {age} s: squeue remembers finished jobs that long"


def _sbatch(backend) -> tuple[bool, str]:
    partition = backend.defaults.partition
    option = f" -p {shlex.quote(partition)}" if partition else ""
    result = backend.transport.run(f"sbatch --test-only{option} -o /dev/null --wrap true", backend.timeout)
    said = " ".join(result.stderr.split())
    return result.exit_code == 0, ("sbatch --test-only accepted a job: " if result.exit_code == 0 else "sbatch refused a test job: ") + said[:200]


def _workspace_root(backend) -> tuple[bool, str]:
    root = backend.workspace_root()
    result = backend.transport.run(f"mkdir -p {shlex.quote(root)} && test -w {shlex.quote(root)}", backend.timeout)
    return result.exit_code == 0, f"{root} is writable" if result.exit_code == 0 else f"cannot write {root}: {result.stderr.strip()}"
