"""The compute kinds ``local`` and ``hpc`` over the local backend, end to end through ticks:
job ids, outcomes, collected outputs with their sha256, and a backend workspace root."""

from __future__ import annotations

import hashlib

from matterstack import Task
from matterstack.core.status import AttemptStatus, RunStatus
from matterstack.orchestrator import control
from matterstack.wiring.model import InstanceConfig, Wiring
from matterstack.plugins.builtin import HpcKindSettings

OUTPUTS = "mkdir -p sub; for f in a.json b.json b.tmp log.txt sub/c.json; do echo $f > $f; done"


def test_every_attempt_gets_its_own_job_id(local_run):
    # given two tasks run once, then one of them rerun
    run = local_run([Task(task_id="a", command="true"), Task(task_id="b", command="true")])
    assert run.until_done() == RunStatus.COMPLETED
    control.rerun(run.handle, run.registry, "a")
    assert run.until_done() == RunStatus.COMPLETED
    # then every attempt has a distinct job id: its own token
    attempts = run.attempts("a") + run.attempts("b")
    assert len(attempts) == 3
    assert [a.external_id for a in attempts] == [a.attempt_id for a in attempts]


def test_non_zero_exit_fails_the_attempt_with_the_exit_code_and_stderr(local_run):
    # given a command that fails
    run = local_run([Task(task_id="t1", command="echo 'SCF did not converge' >&2; exit 7")])
    # when it ran
    assert run.until_done() == RunStatus.FAILED
    # then the attempt is FAILED with the exit code and the tail of stderr
    attempt = run.attempt("t1")
    assert attempt.status == AttemptStatus.FAILED
    assert "exit code 7" in attempt.status_reason and "SCF did not converge" in attempt.status_reason
    assert attempt.operator_data["exit_code"] == 7


def test_download_patterns_choose_the_collected_files(local_run):
    # given a command writing several files and patterns keeping *.json but not b.*
    task = Task(task_id="t1", command=OUTPUTS, download_patterns={"include": ["*.json"], "exclude": ["b.*"]})
    run = local_run([task])
    # when it ran
    assert run.until_done() == RunStatus.COMPLETED
    # then exactly the matching outputs were collected
    assert sorted(run.attempt("t1").operator_data["output_files"]) == ["a.json", "sub/c.json"]
    assert sorted(run.campaign.results["t1"]["files"]) == ["a.json", "sub/c.json"]


def test_without_patterns_every_output_is_collected_with_its_sha256(local_run):
    # given a command writing files next to a staged input
    run = local_run([Task(task_id="t1", command=OUTPUTS, files={"input.txt": "in"})])
    # when it ran
    assert run.until_done() == RunStatus.COMPLETED
    # then every output (not the input, not the control files) has its correct sha256
    data = run.attempt("t1").operator_data
    folder = run.attempt_dir("t1")
    assert {"a.json", "b.json", "b.tmp", "log.txt", "sub/c.json", "stdout.log"} <= set(data["output_files"])
    assert "input.txt" not in data["output_files"] and "manifest.json" not in data["output_files"]
    assert not any(name.startswith(".matterstack") for name in data["output_files"])
    assert data["output_sha256"] == {
        name: hashlib.sha256((folder / path).read_bytes()).hexdigest()
        for name, path in data["output_files"].items()
    }
    # and analyze got absolute paths to them
    assert run.campaign.results["t1"]["files"]["a.json"] == str(folder / "a.json")


def test_hpc_kind_with_a_local_backend_root_runs_there_and_fetches_outputs_back(tmp_path, local_run):
    # given an hpc instance whose local backend works under a scratch root
    scratch = tmp_path / "scratch"
    settings = HpcKindSettings(backend={"type": "local", "workspace_root": str(scratch)})
    wiring = Wiring(instances={"hpc.default": InstanceConfig("hpc.default", "hpc", settings=settings)},
                    default_operator="hpc.default")
    task = Task(task_id="t1", command="pwd > where.txt; cat input.txt > copy.txt; echo tmp > x.tmp",
                files={"input.txt": "staged"}, download_patterns={"exclude": ["*.tmp"]})
    run = local_run([task], wiring=wiring, run_id="r7")
    # when it ran
    assert run.until_done() == RunStatus.COMPLETED
    # then the job ran under the root, in <root>/<workspace>/<run>/<task>/<attempt>
    attempt = run.attempt("t1")
    workdir = scratch / "ws" / "r7" / "t1" / attempt.attempt_id
    assert (workdir / "where.txt").read_text().strip() == str(workdir)
    # and its outputs were fetched into the attempt directory, honouring the patterns
    folder = run.attempt_dir("t1")
    assert folder != workdir
    assert (folder / "where.txt").read_text().strip() == str(workdir)
    assert (folder / "copy.txt").read_text() == "staged"
    assert not (folder / "x.tmp").exists()
    assert sorted(attempt.operator_data["output_files"]) == ["copy.txt", "exit_code", "stderr.log",
                                                              "stdout.log", "where.txt"]


def test_hpc_failure_under_a_backend_root_reports_the_remote_stderr(tmp_path, local_run):
    # given an hpc instance with a scratch root and a failing command
    settings = HpcKindSettings(backend={"type": "local", "workspace_root": str(tmp_path / "scratch")})
    wiring = Wiring(instances={"hpc.default": InstanceConfig("hpc.default", "hpc", settings=settings)},
                    default_operator="hpc.default")
    run = local_run([Task(task_id="t1", command="echo 'out of memory' >&2; exit 9")], wiring=wiring)
    # when it ran, the reason carries the exit code and the stderr written in the scratch root
    assert run.until_done() == RunStatus.FAILED
    reason = run.attempt("t1").status_reason
    assert "exit code 9" in reason and "out of memory" in reason
