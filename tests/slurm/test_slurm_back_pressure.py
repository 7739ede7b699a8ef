"""Back-pressure on a real Slurm site that caps how many jobs a user may have queued (the
harness profile ``maxsubmit``): sbatch's "not now" leaves attempts waiting, ``explain`` says
why and how many jobs are queued, the campaign completes without a FAILED attempt; a genuine
refusal (a partition that does not exist) still fails the attempt with sbatch's words."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matterstack_ops_slurm.submit_limits import parse_queue, submit_refusal
from slurm_clusters import start_cluster
from slurm_runs import SlurmRun

POLICY = ("sbatch: error: Batch job submission failed: Job violates accounting/QOS policy "
          "(job submit limit, user's size and/or time limits)")


@pytest.mark.parametrize("limit", ["AssocMaxSubmitJobLimit", "AssocGrpSubmitJobsLimit", "QOSMaxSubmitJobPerUserLimit",
                                   "QOSMaxSubmitJobPerAccountLimit", "QOSGrpSubmitJobsLimit"])
def test_sbatch_refusing_a_job_over_a_submit_limit_means_not_now(limit):
    assert limit in submit_refusal(f"sbatch: error: {limit}\n{POLICY}\n")


def test_the_policy_line_alone_means_not_now_and_after_another_limit_it_refuses_the_job():
    assert "job submit limit" in submit_refusal(POLICY)
    assert submit_refusal(f"sbatch: error: AssocMaxWallDurationPerJobLimit\n{POLICY}") is None


def test_a_controller_at_max_job_count_means_not_now_and_a_bad_partition_does_not():
    assert "MaxJobCount" in submit_refusal("sbatch: error: Slurm temporarily unable to accept job, sleeping and retrying")
    assert submit_refusal("sbatch: error: invalid partition specified: nosuch\nsbatch: error: Batch job submission "
                          "failed: Invalid partition name specified") is None


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_only_slurms_not_now_words_are_read_as_not_now(text):
    lowered = text.lower()
    if "submit" not in lowered and "policy" not in lowered and "temporarily" not in lowered:
        assert submit_refusal(text) is None


def test_the_users_queue_is_counted_by_state():
    queue = parse_queue("root|PENDING\nroot|PENDING\nroot|RUNNING\n")
    assert queue.describe() == "root has 3 jobs queued (2 pending, 1 running)"
    assert parse_queue("").describe() == "no jobs of yours are queued now"


def held_tasks(count: int, go) -> list[dict]:
    """Tasks whose jobs stay in the queue until the file ``go`` exists."""
    return [{"task_id": f"t{i:03d}", "env": {"GO": str(go)},
             "command": 'while [ ! -e "$GO" ]; do sleep 0.2; done; echo ok > out.txt'} for i in range(count)]


def campaign_run(cluster, tmp_path, tasks, transport, **slurm) -> SlurmRun:
    block = {"type": "slurm", **cluster.backend_block(transport, tmp_path / "remote", **slurm)}
    return SlurmRun(tmp_path, tasks, {"hpc.default": block}, env=cluster.command_env())


def run_over_the_limit(cluster, tmp_path, tasks: int, limit: int, transport: str) -> None:
    """A campaign of ``tasks`` held jobs on a site allowing ``limit`` queued: the first step
    submits ``limit`` and leaves the rest waiting, explain says why, and once the jobs may
    end the campaign completes with one COMPLETED attempt per task."""
    go = tmp_path / "go"
    run = campaign_run(cluster, tmp_path, held_tasks(tasks, go), transport)
    try:
        # when the first step submits as many as the site takes
        notes = run.step()
        attempts = run.all_attempts()
        explained = run.cli("explain", "{run}").stdout
        # then the rest wait, unsubmitted and not failed, and step and explain say why
        statuses = [a.status.value for a in attempts]
        assert statuses.count("SUBMITTED") == limit and statuses.count("CREATED") == tasks - limit
        assert any(f"hpc.default: {tasks - limit} attempt(s) wait to be submitted" in n
                   and "AssocMaxSubmitJobLimit" in n for n in notes)
        waiting = [line for line in explained.splitlines() if "waits for a place in the queue" in line]
        assert len(waiting) == tasks - limit
        assert re.search(r"waits for a place in the queue of hpc\.default: Slurm takes no more jobs from you for "
                         r"now \(sbatch: AssocMaxSubmitJobLimit, a cap on the jobs that may be queued at once\); "
                         rf"root has {limit} jobs queued \(\d+ pending(, \d+ running)?\); "
                         r"the next tick submits it again \(for \d+ s\)", waiting[0]), waiting[0]
        # when the jobs may end
        go.write_text("")
        finished = run.loop(interval=0.5, timeout=900)
        # then the campaign completed: one attempt per task, every one COMPLETED, none FAILED
        assert finished.returncode == 0 and run.run_status() == "COMPLETED"
        attempts = run.all_attempts()
        assert len(attempts) == tasks and {a.status.value for a in attempts} == {"COMPLETED"}
        assert all((run.root / a.relative_path / "out.txt").read_text() == "ok\n" for a in attempts)
    finally:
        go.write_text("")


def test_a_campaign_over_the_sites_submit_limit_waits_says_why_and_completes_without_a_failed_attempt(
        maxsubmit_cluster, tmp_path, on_cluster):
    # given a site that lets root queue 20 jobs, and a campaign of 60 tasks
    on_cluster(maxsubmit_cluster)
    run_over_the_limit(maxsubmit_cluster, tmp_path, tasks=60, limit=20, transport="local")


@pytest.mark.soak
def test_a_campaign_of_200_tasks_over_ssh_on_a_site_capping_50_queued_jobs_completes_without_a_failed_attempt(
        tmp_path, on_cluster):
    # given a site with MaxSubmitJobs=50, reached over SSH, and a campaign of 200 tasks
    cluster = on_cluster(start_cluster("maxsubmit", SLURM_HARNESS_MAX_SUBMIT_JOBS="50"))
    run_over_the_limit(cluster, tmp_path, tasks=200, limit=50, transport="ssh")


def test_a_partition_that_does_not_exist_still_fails_the_attempt_with_sbatchs_words(
        maxsubmit_cluster, tmp_path, on_cluster):
    # given a site with a submit limit, and an instance naming a partition it does not have
    on_cluster(maxsubmit_cluster)
    run = campaign_run(maxsubmit_cluster, tmp_path, [{"task_id": "lost", "command": "true"}], "local",
                       partition="nosuch")
    # when the run is stepped
    run.step()
    # then the attempt failed at once with the reason, and the run failed naming the task
    (attempt,) = run.attempts("lost")
    assert attempt.status.value == "FAILED_INIT"
    assert "sbatch refused the job" in attempt.status_reason and "invalid partition" in attempt.status_reason.lower()
    assert run.run_status() == "FAILED"
