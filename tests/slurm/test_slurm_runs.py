"""Whole runs on a real Slurm cluster through ``hpc`` instances with slurm backends, driven
through the installed ``matterstack`` command as a user drives them (``init
--operators-config``, ``step``, ``loop``, ``cancel``, ``rerun``, ``attempts``): a campaign
across two instances over SSH, a job over its time limit and ``rerun --time-limit``,
``cancel`` of a run, a controller outage, and ``step`` killed during submission (never two
Slurm jobs for one attempt)."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path

import pytest

from slurm_clusters import EACH_PROFILE, start_cluster
from slurm_runs import RUN_ENDED, kill_steps_during_submission


def files_and_hashes(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@EACH_PROFILE
def test_a_job_over_its_time_limit_fails_timeout_and_a_rerun_with_a_longer_limit_completes_as_attempt_2(
        cluster, slurm_run, tmp_path):
    # given a task whose first attempt sleeps past its 1-minute limit (Slurm checks limits
    # every 30 s: TIMEOUT comes 60-90 s after the start; KillWait is 5 s here)
    go = tmp_path / "go"
    run = slurm_run(cluster, [{"task_id": "relax", "time_limit_minutes": 1, "env": {"GO": str(go)},
                                       "command": '[ -e "$GO" ] || sleep 300; echo done > out.txt'}])
    ended = run.loop(interval=2, timeout=240)
    (first,) = run.attempts_json("relax")
    first_dir = run.root / first["path"]
    evidence = files_and_hashes(first_dir)
    go.write_text("")

    # when it is rerun with a 5-minute limit
    rerun = run.cli("rerun", "{run}", "relax", "--time-limit", "5", "--force")
    explained = run.cli("explain", "{run}").stdout
    finished = run.loop()
    first_after, second = run.attempts_json("relax")

    # then attempt 1 ended TIMEOUT and is untouched, attempt 2 ran with the new limit
    assert ended.returncode == RUN_ENDED and finished.returncode == 0
    assert first["status"] == "FAILED" and "TIMEOUT" in first["reason"]
    assert {j["state"] for j in cluster.jobs_named(first["attempt_id"])} == {"TIMEOUT"}
    assert "#SBATCH --time=1\n" in (first_dir / ".matterstack" / "submit.sh").read_text()
    assert "#SBATCH --time=5\n" in (run.root / second["path"] / ".matterstack" / "submit.sh").read_text()
    assert "resources of relax: time_limit_minutes 1 → 5" in rerun.stdout
    assert "rerun of relax: time_limit_minutes 1 → 5" in explained
    assert (second["attempt_index"], second["status"]) == (2, "COMPLETED")
    assert [a["resources"]["time_limit_minutes"] for a in (first_after, second)] == [1, 5]
    assert second["resource_changes"][0]["changes"] == {"time_limit_minutes": [1, 5]}
    assert (run.root / second["path"] / "out.txt").read_text() == "done\n"
    assert first_after["status"] == "FAILED" and first_after["reason"] == first["reason"]
    assert files_and_hashes(first_dir) == evidence


@EACH_PROFILE
def test_cancelling_a_run_leaves_none_of_its_jobs_queued_or_running(cluster, slurm_run):
    cpus = int(cluster.env["SLURM_HARNESS_CPUS"])
    run = slurm_run(cluster, [{"task_id": f"hold{i}", "command": "sleep 300", "cores": cpus,
                                       "time_limit_minutes": 10} for i in range(3)])

    def running_and_queued(r):
        states = {a.status.value for a in r.all_attempts()}
        return {"RUNNING", "SUBMITTED"} <= states

    run.step_until(running_and_queued, timeout=120, pause=0.5)
    tokens = [a.attempt_id for a in run.all_attempts()]
    cancel = run.cli("cancel", "{run}")
    time.sleep(1)

    live = [j for t in tokens for j in cluster.jobs_named(t) if j["state"] in ("PENDING", "RUNNING", "CONFIGURING")]
    assert "Run status: CANCELLED" in cancel.stdout and run.run_status() == "CANCELLED"
    assert live == []
    assert {a.status.value for a in run.all_attempts()} == {"CANCELLED"}


@EACH_PROFILE
def test_with_slurmctld_down_ticks_report_the_outage_fail_nothing_and_the_run_finishes_after(outage_cluster, slurm_run):
    cluster, settings = outage_cluster
    run = slurm_run(cluster, [{"task_id": f"t{i}", "command": "sleep 3; echo ok > out.txt"} for i in range(2)])
    run.step_until(lambda r: len(r.all_attempts()) == 2 and all(a.external_id for a in r.all_attempts()))
    pid = int(Path(cluster.env["SLURM_HARNESS_DIR"], "run", "slurmctld.pid").read_text())

    os.kill(pid, signal.SIGTERM)
    time.sleep(1)
    notes = run.step() + run.step()
    statuses_during = {a.status.value for a in run.all_attempts()}
    start_cluster(cluster.profile, **settings)
    finished = run.loop(timeout=120)

    assert finished.returncode == 0
    assert any(n.startswith("hpc.default: ") and "Unable to contact slurm controller" in n and "will retry" in n for n in notes)
    assert "FAILED" not in statuses_during
    assert {a.status.value for a in run.all_attempts()} == {"COMPLETED"}


@EACH_PROFILE
def test_killing_step_during_submission_never_gives_an_attempt_two_jobs(cluster, slurm_run):
    kill_steps_during_submission(cluster, slurm_run, kills=8)


@pytest.mark.soak
@pytest.mark.parametrize("profile", ["jobcomp", "accounting"])
def test_soak_killing_step_during_submission_50_times(cluster, slurm_run):
    kill_steps_during_submission(cluster, slurm_run, kills=50)


@pytest.mark.soak
@pytest.mark.parametrize("profile", ["jobcomp", "accounting"])
def test_killing_step_during_a_batch_of_200_keeps_the_jobs_it_recorded_and_runs_each_task_once(cluster, slurm_run):
    # given 200 tasks submitted as one batch over SSH; when step is killed three times, each
    # as soon as it has recorded a job of its batch
    recorded = kill_steps_during_submission(cluster, slurm_run, kills=3, tasks=200, longest=60.0,
                                            on_first_answer=True)

    # then (above) each task ran once, and a killed tick left some jobs recorded: the answers
    # are recorded as they arrive, not when the batch ends
    assert any(0 < count < 200 for count in recorded), recorded


@pytest.mark.soak
@pytest.mark.parametrize("profile", ["jobcomp", "accounting"])
def test_soak_killing_step_during_a_batch_of_200_twenty_times(cluster, slurm_run):
    recorded = kill_steps_during_submission(cluster, slurm_run, kills=20, tasks=200, longest=60.0,
                                            on_first_answer=True)
    assert any(0 < count < 200 for count in recorded), recorded


@EACH_PROFILE
def test_a_campaign_across_two_instances_over_ssh_runs_to_the_end_from_the_command_line(cluster, slurm_run, tmp_path):
    remote = tmp_path / "remote"
    instances = {
        "hpc.default": {"type": "slurm", **cluster.backend_block("ssh", remote, partition="debug")},
        "hpc.dev": {"type": "slurm", **cluster.backend_block("ssh", remote, partition="dev", time="00:10:00")},
    }
    tasks = [{"task_id": "relax_ar", "operator_key": "hpc.default", "files": {"params.txt": "Ar 3.40\n"},
              "command": "mkdir -p results && cut -d' ' -f2 params.txt > results/sigma.txt && echo scratch > big.tmp",
              "download_patterns": {"include": ["results/*"], "exclude": ["*.tmp"]}},
             {"task_id": "relax_kr", "operator_key": "hpc.dev", "files": {"params.txt": "Kr 3.65\n"},
              "command": "mkdir -p results && cut -d' ' -f2 params.txt > results/sigma.txt"}]
    run = slurm_run(cluster, tasks, **instances)

    loop = run.cli("loop", "{run}", "--interval", "0.3")
    attempts = {task: run.attempts_json(task) for task in ("relax_ar", "relax_kr")}

    assert "COMPLETED" in loop.stdout.splitlines()[-1]
    for task, key, partition, sigma in (("relax_ar", "hpc.default", "debug", "3.40"), ("relax_kr", "hpc.dev", "dev", "3.65")):
        (attempt,) = attempts[task]
        folder = run.root / attempt["path"]
        assert (attempt["status"], attempt["operator_key"]) == ("COMPLETED", key)
        assert [j["job_id"] for j in cluster.jobs_named(attempt["attempt_id"])] == [attempt["external_id"]]
        assert [j["partition"] for j in cluster.jobs_named(attempt["attempt_id"])] == [partition]
        assert (folder / "results" / "sigma.txt").read_text() == sigma + "\n"
    assert not (run.root / attempts["relax_ar"][0]["path"] / "big.tmp").exists()
