"""Whole runs with ``job_arrays: true`` on a real Slurm cluster, driven through the installed
``matterstack`` command: a campaign across two partitions, a job over its time limit, ``cancel``
of a run, a controller outage and ``step`` killed during submission, as for plain jobs
(``test_slurm_runs.py``). Each test runs on the completion-records cluster (``jobcomp``) by
default and on the slurmdbd one (``accounting``) under ``-m soak``; the time-limit run (90 s
of waiting for Slurm's limit check) runs under ``-m soak`` only, the default suite keeping the
plain one."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from slurm_clusters import EACH_PROFILE, start_cluster
from slurm_runs import RUN_ENDED, kill_steps_during_submission

ARRAYS = {"job_arrays": True}
def master(external_id: str) -> str:
    job, sep, index = external_id.partition("_")
    assert sep and index.isdigit(), f"{external_id} is not an array element id"
    return job


@EACH_PROFILE
def test_a_campaign_across_two_partitions_goes_as_one_array_per_instance_and_runs_to_the_end(cluster, slurm_run, tmp_path):
    remote = tmp_path / "remote"
    instances = {
        "hpc.default": {"type": "slurm", **cluster.backend_block("ssh", remote, partition="debug", **ARRAYS)},
        "hpc.dev": {"type": "slurm", **cluster.backend_block("ssh", remote, partition="dev", time="00:10:00", **ARRAYS)},
    }
    tasks = [{"task_id": f"{key.split('.')[1]}{i}", "operator_key": key, "files": {"params.txt": f"{i}\n"},
              "command": "mkdir -p results && cp params.txt results/sigma.txt && echo scratch > big.tmp",
              "download_patterns": {"include": ["results/*"], "exclude": ["*.tmp"]}}
             for key in instances for i in range(3)]
    run = slurm_run(cluster, tasks, **instances)

    loop = run.cli("loop", "{run}", "--interval", "0.3")
    attempts = {task["task_id"]: run.attempts_json(task["task_id"])[0] for task in tasks}

    assert "COMPLETED" in loop.stdout.splitlines()[-1]
    for key in instances:
        ours = [attempts[t["task_id"]] for t in tasks if t["operator_key"] == key]
        assert len({master(a["external_id"]) for a in ours}) == 1
        assert sorted(a["external_id"].split("_")[1] for a in ours) == ["0", "1", "2"]
    for i, task in enumerate(tasks):
        folder = run.root / attempts[task["task_id"]]["path"]
        assert attempts[task["task_id"]]["status"] == "COMPLETED"
        assert (folder / "results" / "sigma.txt").read_text() == f"{i % 3}\n"
        assert not (folder / "big.tmp").exists()
    partitions = {row["partition"] for row in cluster.accounting_rows()
                  if row["name"].startswith(f"a.{attempts['dev0']['attempt_id']}.")}
    assert partitions == {"dev"}


@pytest.mark.soak
@pytest.mark.parametrize("profile", ["jobcomp", "accounting"])
def test_an_element_over_its_time_limit_fails_timeout_and_the_others_complete(cluster, slurm_run, tmp_path):
    # given two same-shaped tasks with a 1-minute limit, one sleeping past it (Slurm checks
    # limits every 30 s: TIMEOUT comes 60-90 s after the start)
    tasks = [{"task_id": "slow", "time_limit_minutes": 1, "command": "sleep 300"},
             {"task_id": "quick", "time_limit_minutes": 1, "command": "echo done > out.txt"}]
    run = slurm_run(cluster, tasks, slurm=ARRAYS)

    ended = run.loop(interval=2, timeout=240)
    (slow,), (quick,) = run.attempts_json("slow"), run.attempts_json("quick")

    assert ended.returncode == RUN_ENDED
    assert master(slow["external_id"]) == master(quick["external_id"])
    assert slow["status"] == "FAILED" and "TIMEOUT" in slow["reason"]
    assert quick["status"] == "COMPLETED" and (run.root / quick["path"] / "out.txt").read_text() == "done\n"
    assert "#SBATCH --time=1\n" in (run.root / slow["path"] / ".matterstack" / "submit.sh").read_text()


@EACH_PROFILE
def test_cancelling_a_run_of_arrays_leaves_none_of_their_elements_queued_or_running(cluster, slurm_run):
    cpus = int(cluster.env["SLURM_HARNESS_CPUS"])
    run = slurm_run(cluster, [{"task_id": f"hold{i}", "command": "sleep 300", "cores": cpus,
                               "time_limit_minutes": 10} for i in range(3)], slurm=ARRAYS)

    def running_and_queued(r):
        states = {a.status.value for a in r.all_attempts()}
        return {"RUNNING", "SUBMITTED"} <= states

    run.step_until(running_and_queued, timeout=120, pause=0.5)
    arrays = {master(a.external_id) for a in run.all_attempts()}
    cancel = run.cli("cancel", "{run}")
    time.sleep(1)

    listed = cluster.slurm("squeue", "-h", "-r", "-j", ",".join(arrays), "-o", "%i|%T", check=False).stdout
    assert len(arrays) == 1
    assert "Run status: CANCELLED" in cancel.stdout and run.run_status() == "CANCELLED"
    assert [line for line in listed.splitlines() if line.split("|")[1] in ("PENDING", "RUNNING", "CONFIGURING")] == []
    assert {a.status.value for a in run.all_attempts()} == {"CANCELLED"}


@EACH_PROFILE
def test_with_slurmctld_down_array_elements_wait_and_the_run_finishes_after(outage_cluster, slurm_run):
    cluster, settings = outage_cluster
    run = slurm_run(cluster, [{"task_id": f"t{i}", "command": "sleep 3; echo ok > out.txt"} for i in range(3)],
                    slurm=ARRAYS)
    run.step_until(lambda r: len(r.all_attempts()) == 3 and all(a.external_id for a in r.all_attempts()))
    pid = int(Path(cluster.env["SLURM_HARNESS_DIR"], "run", "slurmctld.pid").read_text())

    os.kill(pid, signal.SIGTERM)
    time.sleep(1)
    notes = run.step() + run.step()
    statuses_during = {a.status.value for a in run.all_attempts()}
    start_cluster(cluster.profile, **settings)
    finished = run.loop(timeout=120)

    assert finished.returncode == 0
    assert len({master(a.external_id) for a in run.all_attempts()}) == 1
    assert any(n.startswith("hpc.default: ") and "will retry" in n for n in notes)
    assert "FAILED" not in statuses_during
    assert {a.status.value for a in run.all_attempts()} == {"COMPLETED"}


@EACH_PROFILE
def test_killing_step_while_it_submits_arrays_never_runs_a_task_twice(cluster, slurm_run):
    recorded = kill_steps_during_submission(cluster, slurm_run, kills=4, tasks=30, longest=60.0,
                                            on_first_answer=True, slurm=ARRAYS)
    assert recorded[0] > 0


@pytest.mark.soak
@pytest.mark.parametrize("profile", ["jobcomp", "accounting"])
def test_soak_killing_step_while_it_submits_arrays_of_200_twenty_times(cluster, slurm_run):
    kill_steps_during_submission(cluster, slurm_run, kills=20, tasks=200, longest=60.0, on_first_answer=True,
                                 slurm={**ARRAYS, "array_parallel": 50})
