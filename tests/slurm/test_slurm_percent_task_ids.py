"""Task ids holding ``%``: Slurm prefixes a relative ``--output``/``--error`` with the work
directory and then expands ``%`` patterns (``%j``, ``%s``, ``%n``, ``%%``) in the whole path,
and the work directory holds the task id. The jobs of such tasks run and finish like any
other, locally and over SSH, on the real cluster, their Slurm output where it always is."""

from __future__ import annotations

import pytest

from slurm_runs import SlurmRun

PERCENT_IDS = ("%s%n", "%%", "yield_5%")


@pytest.mark.parametrize("transport", ("local", "ssh"))
def test_tasks_whose_ids_hold_percent_signs_run_on_slurm_and_complete(jobcomp_cluster, on_cluster, tmp_path, transport):
    # given a campaign whose task ids hold sbatch's filename patterns, on a backend that also
    # sends the jobs' stderr to a relative file of its own
    on_cluster(jobcomp_cluster)
    remote = tmp_path / "remote"
    block = {"type": "slurm", **jobcomp_cluster.backend_block(transport, remote, error="slurm-%j.err")}
    tasks = [{"task_id": task_id, "command": 'printf "%s" "$PWD" > where.txt'} for task_id in PERCENT_IDS]
    run = SlurmRun(tmp_path, tasks, {"hpc.default": block}, env=jobcomp_cluster.command_env())

    # when the run is looped to its end
    looped = run.loop()

    # then every job ran in its own work directory, named after the task id verbatim, and
    # Slurm wrote its files inside that directory
    assert looped.returncode == 0, looped.stdout
    for task_id in PERCENT_IDS:
        (attempt,) = run.attempts_json(task_id)
        (job,) = jobcomp_cluster.jobs_named(attempt["attempt_id"])
        (workdir,) = remote.rglob(attempt["attempt_id"])
        assert attempt["status"] == "COMPLETED" and job["state"] == "COMPLETED"
        assert (run.root / attempt["path"] / "where.txt").read_text() == str(workdir)
        assert workdir.parent.name == task_id
        assert (workdir / ".matterstack" / f"slurm-{job['job_id']}.out").exists()
        assert (workdir / f"slurm-{job['job_id']}.err").exists()
