"""The Slurm translator on its own: submit.sh and command lines, and parsing what Slurm prints.

Tests named ``canned`` feed output a one-node test cluster cannot produce (NODE_FAIL without
requeue, PREEMPTED, BOOT_FAIL, DEADLINE) as Slurm 22.05 prints it.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matterstack.core.status import AttemptStatus
from matterstack.errors import PermanentOperatorError
from matterstack.plugins import JobSpec
from matterstack_ops_slurm import scheduler
from matterstack_ops_slurm.register import SlurmDefaults


def job(**fields) -> JobSpec:
    base = dict(token="0f6c2f4e-0000-4000-8000-000000000001", command="python3 run.py", input_dir=Path("/tmp"),
                relative_dir="ws/run/task/attempt")
    return JobSpec(**{**base, **fields})


def directive_lines(script: str) -> dict[str, str]:
    return dict(line[len("#SBATCH --"):].split("=", 1) for line in script.splitlines() if line.startswith("#SBATCH"))


@pytest.mark.parametrize(("word", "status"), [
    ("PENDING", AttemptStatus.SUBMITTED), ("PD", AttemptStatus.SUBMITTED), ("REQUEUED", AttemptStatus.SUBMITTED),
    ("CONFIGURING", AttemptStatus.SUBMITTED), ("CF", AttemptStatus.SUBMITTED),
    ("RUNNING", AttemptStatus.RUNNING), ("R", AttemptStatus.RUNNING), ("COMPLETING", AttemptStatus.RUNNING),
    ("CG", AttemptStatus.RUNNING), ("SUSPENDED", AttemptStatus.RUNNING), ("S", AttemptStatus.RUNNING),
    ("COMPLETED", AttemptStatus.COMPLETED), ("CD", AttemptStatus.COMPLETED),
    ("FAILED", AttemptStatus.FAILED), ("F", AttemptStatus.FAILED), ("TIMEOUT", AttemptStatus.FAILED),
    ("TO", AttemptStatus.FAILED), ("NODE_FAIL", AttemptStatus.FAILED), ("NF", AttemptStatus.FAILED),
    ("BOOT_FAIL", AttemptStatus.FAILED), ("BF", AttemptStatus.FAILED), ("OUT_OF_MEMORY", AttemptStatus.FAILED),
    ("OOM", AttemptStatus.FAILED), ("DEADLINE", AttemptStatus.FAILED), ("DL", AttemptStatus.FAILED),
    ("PREEMPTED", AttemptStatus.FAILED), ("PR", AttemptStatus.FAILED),
    ("CANCELLED", AttemptStatus.CANCELLED), ("CANCELLED by 0", AttemptStatus.CANCELLED), ("CA", AttemptStatus.CANCELLED),
])
def test_every_slurm_state_long_or_short_maps_to_an_attempt_status(word, status):
    assert scheduler.observe(scheduler.JobState("1", word)).status == status


def test_failed_states_keep_the_slurm_word_as_reason_so_timeout_differs_from_out_of_memory():
    timeout = scheduler.observe(scheduler.JobState("7", "TO", reason="TimeLimit"))
    oom = scheduler.observe(scheduler.JobState("8", "OUT_OF_MEMORY", exit_code="0:125"))

    assert (timeout.native_state, timeout.reason, timeout.exit_code) == ("TIMEOUT", "TIMEOUT (TimeLimit)", None)
    assert (oom.native_state, oom.reason, oom.exit_code) == ("OUT_OF_MEMORY", "OUT_OF_MEMORY", None)


def test_exit_codes_with_a_signal_read_as_128_plus_the_signal():
    assert scheduler.observe(scheduler.JobState("1", "FAILED", exit_code="3:0")).exit_code == 3
    assert scheduler.observe(scheduler.JobState("1", "FAILED", exit_code="0:9")).exit_code == 137


def test_cancelled_by_uid_from_accounting_keeps_who_cancelled_in_the_reason():
    seen = scheduler.observe(scheduler.JobState("4", "CANCELLED by 0"))
    assert (seen.status, seen.native_state, seen.reason) == (AttemptStatus.CANCELLED, "CANCELLED", "CANCELLED by 0")


def test_an_unknown_state_is_not_terminal_and_says_so():
    seen = scheduler.observe(scheduler.JobState("4", "FROBNICATED"))
    assert seen.status == AttemptStatus.SUBMITTED and "unknown Slurm state" in seen.reason


def test_canned_node_fail_without_requeue_from_sacct_fails_the_attempt():
    rows = scheduler.parse_rows("812|NODE_FAIL|0:0|debug|tok\n", scheduler.SACCT_FIELDS)
    seen = scheduler.observe(rows[0])
    assert (seen.status, seen.native_state, seen.reason) == (AttemptStatus.FAILED, "NODE_FAIL", "NODE_FAIL")


def test_canned_requeued_job_in_completion_records_takes_its_latest_run():
    # sacct -c prints one line per run of a requeued job; the last one is the job's state now.
    rows = scheduler.parse_rows("90|NODE_FAIL|0:0|debug|t\n90|COMPLETED|0:0|debug|t\n", scheduler.SACCT_FIELDS)
    assert [r.state for r in rows] == ["COMPLETED"]


def test_canned_preempted_boot_fail_and_deadline_from_squeue_fail_with_their_word():
    text = "31|PREEMPTED|None|normal\n32|BOOT_FAIL|None|normal\n33|DEADLINE|None|normal\n"
    seen = [scheduler.observe(r) for r in scheduler.parse_rows(text, scheduler.SQUEUE_FIELDS)]
    assert [(s.status, s.reason) for s in seen] == [(AttemptStatus.FAILED, w) for w in ("PREEMPTED", "BOOT_FAIL", "DEADLINE")]


def test_canned_sacct_steps_are_ignored_and_only_the_job_line_counts():
    rows = scheduler.parse_rows("55|FAILED|3:0|debug|t\n55.batch|FAILED|3:0||batch\n55.extern|COMPLETED|0:0||extern\n",
                                scheduler.SACCT_FIELDS)
    assert [(r.job_id, r.exit_code) for r in rows] == [("55", "3:0")]


def test_pending_reason_and_partition_show_in_the_wait_description():
    seen = scheduler.observe(scheduler.JobState("48121", "PENDING", reason="Priority", partition="normal"))
    assert seen.reason == "Priority; partition normal"


@given(st.text())
def test_parsing_any_text_never_raises(text):
    for row in scheduler.parse_rows(text, scheduler.SQUEUE_FIELDS) + scheduler.parse_rows(text, scheduler.SACCT_FIELDS):
        scheduler.observe(row)
    scheduler.parse_config(text)


def test_scontrol_config_says_which_accounting_the_site_keeps():
    dbd = "AccountingStorageType   = accounting_storage/slurmdbd\nJobCompType = jobcomp/none\nMinJobAge = 300 sec\n"
    comp = "AccountingStorageType = accounting_storage/none\nJobCompType = jobcomp/filetxt\nMinJobAge = 5 sec\nClusterName = harness\n"
    none = "AccountingStorageType = accounting_storage/none\nJobCompType = jobcomp/none\n"

    assert scheduler.parse_config(dbd) == scheduler.SiteInfo("slurmdbd", 300, "")
    assert scheduler.parse_config(comp) == scheduler.SiteInfo("jobcomp", 5, "harness")
    assert scheduler.parse_config(none) == scheduler.SiteInfo("none", None, "")


@pytest.mark.parametrize("error", [
    "slurm_load_jobs error: Socket timed out on send/recv operation",
    "squeue: error: Unable to contact slurm controller (connect failure)",
    "sacct: error: slurm_persist_conn_open_without_init: failed to open persistent connection",
    "Connection reset by peer",
])
def test_scheduler_outages_are_transient(error):
    assert scheduler.is_transient(error)


def test_a_refused_submission_is_not_transient():
    assert not scheduler.is_transient("sbatch: error: Batch job submission failed: Invalid partition name specified")


def test_task_resources_win_over_backend_defaults_and_memory_is_in_gigabytes():
    defaults = SlurmDefaults(partition="normal", account="chem", qos="high", time="02:00:00", nodes=1, ntasks=4,
                             cpus_per_task=2, memory_gb=8, gpus=1)
    script = scheduler.submit_script(job(cores=16, memory_gb=32, gpus=2, time_limit_minutes=90), defaults)

    assert directive_lines(script) == {
        "job-name": "0f6c2f4e-0000-4000-8000-000000000001", "partition": "normal", "account": "chem", "qos": "high",
        "time": "90", "nodes": "1", "ntasks": "4", "cpus-per-task": "16", "mem": "32G", "gres": "gpu:2",
        "output": ".matterstack/slurm-%j.out",
    }


def test_backend_defaults_apply_when_the_task_names_no_resources():
    script = scheduler.submit_script(job(), SlurmDefaults(time="00:30:00", cpus_per_task=4, memory_gb=1.5, gpus=1))
    assert {k: v for k, v in directive_lines(script).items() if k in ("time", "cpus-per-task", "mem", "gres")} == {
        "time": "00:30:00", "cpus-per-task": "4", "mem": "1536M", "gres": "gpu:1"}


def test_modules_lines_come_before_the_command_and_env_values_are_shell_quoted():
    hostile = "it's $(touch /tmp/x) `id` \"q\" ; rm -rf /"
    script = scheduler.submit_script(job(env={"HOSTILE": hostile}), SlurmDefaults(modules=["module load vasp/6.4"]))
    body = script.splitlines()

    assert body.index("module load vasp/6.4") < body.index(f"export HOSTILE={shlex.quote(hostile)}")
    assert shlex.split(f"export HOSTILE={shlex.quote(hostile)}")[1] == f"HOSTILE={hostile}"
    assert any(line.startswith("/bin/bash -c 'python3 run.py' > stdout.log") for line in body)


@pytest.mark.parametrize("field", ["partition", "account", "qos", "time"])
def test_a_directive_value_sbatch_could_misread_is_refused_before_submission(field):
    with pytest.raises(PermanentOperatorError, match=field):
        scheduler.submit_script(job(), SlurmDefaults(**{field: "normal --wrap=$(id)"}))


def test_an_env_name_that_is_not_a_shell_name_is_refused():
    with pytest.raises(PermanentOperatorError, match="not a valid shell name"):
        scheduler.submit_script(job(env={"A B": "1"}), SlurmDefaults())


def test_squeue_is_one_command_for_all_jobs_with_one_line_per_array_element():
    assert scheduler.squeue_command(["11", "12_0", "13"]) == "squeue -h -t all -r -j 11,12_0,13 -o '%i|%T|%r|%P'"


def test_the_sites_array_size_limit_is_read_from_its_configuration():
    assert scheduler.parse_config("MaxArraySize            = 40001\n").max_array_size == 40001
    assert scheduler.parse_config("ClusterName = x\n").max_array_size == 1001


def test_accounting_query_follows_what_the_site_keeps():
    assert scheduler.sacct_command(["5"], "slurmdbd").startswith("sacct -X -n -P -S now-30days -j 5 ")
    assert scheduler.sacct_command(["5"], "jobcomp").startswith("sacct -c -X -n -P -S now-30days -j 5 ")
    assert scheduler.sacct_command(["5"], "none") is None
