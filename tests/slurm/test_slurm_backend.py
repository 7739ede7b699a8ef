"""Backend ``slurm`` against a real cluster, through the local shell and over SSH: submit,
poll, fetch, cancel, reconcile by token, hostile values, and the fallbacks for jobs squeue has
forgotten (accounting, then the exit-code file, then LOST)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from matterstack.core.status import AttemptStatus
from slurm_helpers import CountingTransport, follow, job_spec


def test_a_job_runs_in_its_work_dir_and_its_outputs_come_back(jobcomp_cluster, transport, make_backend, tmp_path, token):
    backend = make_backend(jobcomp_cluster, transport, slurm={"partition": "dev", "time": "00:05:00"})
    spec = job_spec(tmp_path, token, "mkdir -p out && tr a-z A-Z < in.txt > out/upper.txt && echo log > run.log",
                    files={"in.txt": "hello\n"})

    job_id = backend.submit(spec)
    seen = follow(backend, job_id)
    backend.fetch(job_id, spec.input_dir, include=["out/*", "*.log"], exclude=["run.log"])

    assert (seen.status, seen.exit_code) == (AttemptStatus.COMPLETED, 0)
    assert (spec.input_dir / "out/upper.txt").read_text() == "HELLO\n"
    assert not (spec.input_dir / "run.log").exists()
    assert (spec.input_dir / "stdout.log").exists() and (spec.input_dir / ".matterstack/exit_code").read_text() == "0\n"
    assert f"#SBATCH --job-name={token}" in (spec.input_dir / ".matterstack/submit.sh").read_text()
    assert [j["partition"] for j in jobcomp_cluster.jobs_named(token)] == ["dev"]


def test_a_failing_command_fails_the_job_with_its_exit_code(jobcomp_cluster, transport, make_backend, tmp_path, token):
    backend = make_backend(jobcomp_cluster, transport)

    seen = follow(backend, backend.submit(job_spec(tmp_path, token, "echo broken >&2; exit 3")))

    assert (seen.status, seen.native_state, seen.exit_code) == (AttemptStatus.FAILED, "FAILED", 3)


def test_hostile_values_reach_the_job_verbatim_and_nothing_else_runs(jobcomp_cluster, transport, make_backend, tmp_path, token):
    marker = f"pwned-{uuid.uuid4()}"
    hostile = f"it's \"quoted\" $(touch /tmp/{marker}) `touch /tmp/{marker}` ; touch /tmp/{marker} & spaces  here"
    root = tmp_path / f"work dir $(touch {marker}) `touch {marker}`"
    backend = make_backend(jobcomp_cluster, transport, workspace_root=str(root))
    odd_name = f"in put 'q' \"$(touch {marker})\" `touch {marker}`.txt"
    spec = job_spec(tmp_path, token, 'printf "%s" "$HOSTILE" > env.out; cat ./in*put* > file.out',
                    files={odd_name: hostile}, env={"HOSTILE": hostile})

    job_id = backend.submit(spec)
    seen = follow(backend, job_id)
    backend.fetch(job_id, spec.input_dir)

    assert seen.status == AttemptStatus.COMPLETED
    assert (spec.input_dir / "env.out").read_text() == hostile
    assert (spec.input_dir / "file.out").read_text() == hostile
    assert (root / spec.relative_dir / odd_name).read_text() == hostile
    created = [p for p in (Path("/tmp"), Path.home(), Path.cwd(), tmp_path, root / spec.relative_dir) if (p / marker).exists()]
    assert created == []


def test_submitting_one_token_twice_adopts_the_first_job(jobcomp_cluster, transport, make_backend, tmp_path, token):
    backend = make_backend(jobcomp_cluster, transport)
    spec = job_spec(tmp_path, token, "sleep 2")

    first = backend.submit(spec)
    (tmp_path / "cluster-workspace" / spec.relative_dir / ".matterstack/job_id").unlink()  # as if sbatch's answer was lost
    second = backend.submit(spec)

    assert first == second
    assert [j["job_id"] for j in jobcomp_cluster.jobs_named(token)] == [first]


def test_find_by_token_knows_submitted_tokens_only(jobcomp_cluster, transport, make_backend, tmp_path, token):
    backend = make_backend(jobcomp_cluster, transport)
    job_id = backend.submit(job_spec(tmp_path, token, "true"))

    assert backend.find_by_token([token, str(uuid.uuid4())]) == {token: job_id}


def test_cancel_stops_a_running_job(jobcomp_cluster, transport, make_backend, tmp_path, token):
    backend = make_backend(jobcomp_cluster, transport)
    job_id = backend.submit(job_spec(tmp_path, token, "sleep 300"))
    follow(backend, job_id, until=lambda seen: seen.status == AttemptStatus.RUNNING)

    backend.cancel(job_id)
    seen = follow(backend, job_id)

    assert (seen.status, seen.native_state) == (AttemptStatus.CANCELLED, "CANCELLED")


def test_jobs_squeue_has_forgotten_are_settled_by_the_accounting(any_cluster, make_backend, tmp_path):
    backends = {t: make_backend(any_cluster, t) for t in ("local", "ssh")}
    jobs = {}
    for t, backend in backends.items():
        for command, code in (("true", 0), ("exit 3", 3)):
            token = str(uuid.uuid4())
            jobs[backend.submit(job_spec(tmp_path, token, command))] = (t, code)
    for job_id, (t, _) in jobs.items():
        follow(backends[t], job_id)
    any_cluster.wait_until_forgotten(list(jobs))
    for t, backend in backends.items():
        backend.transport = CountingTransport(backend.transport)

    seen = {job_id: backends[t].poll_many([job_id])[job_id] for job_id, (t, _) in jobs.items()}

    assert {j: (s.status, s.exit_code) for j, s in seen.items()} == {
        j: (AttemptStatus.COMPLETED if code == 0 else AttemptStatus.FAILED, code) for j, (_, code) in jobs.items()}
    kind = "sacct -c" if any_cluster.profile == "jobcomp" else "sacct -X"
    for backend in backends.values():
        assert [c.split(" -")[0] for c in backend.transport.commands] == ["squeue", "sacct"] * 2
        assert all(kind in c for c in backend.transport.commands if c.startswith("sacct"))


def test_without_accounting_the_exit_code_file_settles_jobs_and_the_rest_are_lost(jobcomp_cluster, transport, make_backend, tmp_path):
    backend = make_backend(jobcomp_cluster, transport, accounting="none")
    failed = backend.submit(job_spec(tmp_path, str(uuid.uuid4()), "exit 4"))
    never_ran = backend.submit(job_spec(tmp_path, str(uuid.uuid4()), "sleep 300", time_limit_minutes=10))
    jobcomp_cluster.slurm("scontrol", "hold", never_ran, check=False)
    backend.cancel(never_ran)
    follow(backend, failed)
    jobcomp_cluster.wait_until_forgotten([failed, never_ran])

    seen = backend.poll_many([failed, never_ran, "999999"])

    assert (seen[failed].status, seen[failed].exit_code) == (AttemptStatus.FAILED, 4)
    assert seen[never_ran].status == AttemptStatus.FAILED and seen[never_ran].reason.startswith("lost")
    assert seen["999999"].reason.startswith("lost")


def test_many_jobs_cost_one_squeue_per_poll(jobcomp_cluster, transport, make_backend, tmp_path):
    backend = make_backend(jobcomp_cluster, transport)
    job_ids = [backend.submit(job_spec(tmp_path, str(uuid.uuid4()), "sleep 60", time_limit_minutes=2)) for _ in range(6)]
    backend.transport = CountingTransport(backend.transport)

    seen = backend.poll_many(job_ids)
    for job_id in job_ids:
        backend.cancel(job_id)

    assert set(seen) == set(job_ids) and all(not s.status.is_terminal for s in seen.values())
    assert backend.transport.commands[0].startswith("squeue") and len(backend.transport.commands) == 1 + len(job_ids)


@pytest.mark.parametrize("bad", [{"partition": "nosuch"}, {"partition": "dev", "time": "02:00:00"}])
def test_sbatch_refusing_a_job_is_permanent_and_names_the_reason(jobcomp_cluster, make_backend, tmp_path, token, bad):
    from matterstack.errors import PermanentOperatorError

    backend = make_backend(jobcomp_cluster, "local", slurm=bad)

    with pytest.raises(PermanentOperatorError, match="sbatch refused the job: .*(invalid partition|time limit)"):
        backend.submit(job_spec(tmp_path, token, "true"))
