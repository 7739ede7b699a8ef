"""Batched submission of the ``slurm`` backend against a real cluster, through the local shell
and over SSH: a batch costs the same round trips whatever its size, adopts what its tokens
already have, and each job runs in its own work directory with its own inputs."""

from __future__ import annotations

import uuid

from matterstack.core.status import AttemptStatus
from slurm_helpers import follow, job_spec


def batch(tmp_path, count: int) -> list:
    return [job_spec(tmp_path, f"b{i}-{uuid.uuid4().hex[:8]}", "cat in.txt > out.txt", files={"in.txt": f"{i}\n"})
            for i in range(count)]


def submit_all(backend, jobs) -> dict:
    answers = {}
    backend.submit_batch(jobs, lambda token, outcome: answers.setdefault(token, outcome))
    return answers


def test_a_batch_costs_the_same_round_trips_for_3_jobs_as_for_30(jobcomp_cluster, transport, make_backend, tmp_path):
    # given a backend that has asked the cluster's configuration once already
    backend = make_backend(jobcomp_cluster, transport)
    backend.site

    # when it submits 3 jobs, then 30
    before = backend.transport.round_trips
    small = submit_all(backend, batch(tmp_path / "small", 3))
    middle = backend.transport.round_trips
    large = submit_all(backend, batch(tmp_path / "large", 30))

    # then each batch was one round trip, and every job got its own Slurm job
    assert middle - before == 1 and backend.transport.round_trips - middle == 1
    ids = list(small.values()) + list(large.values())
    assert len(set(ids)) == 33 and all(isinstance(i, str) and i.isdigit() for i in ids)


def test_a_batch_adopts_the_jobs_its_tokens_have_and_each_job_sees_its_own_inputs(jobcomp_cluster, transport,
                                                                                   make_backend, tmp_path):
    backend = make_backend(jobcomp_cluster, transport)
    jobs = batch(tmp_path, 4)
    first = backend.submit(jobs[0])

    answers = submit_all(backend, jobs)
    again = submit_all(backend, jobs)
    seen = {job.token: follow(backend, answers[job.token]) for job in jobs}
    for job in jobs:
        backend.fetch(answers[job.token], job.input_dir, include=["out.txt"])

    assert answers[jobs[0].token] == first and again == answers
    assert {s.status for s in seen.values()} == {AttemptStatus.COMPLETED}
    assert [(job.input_dir / "out.txt").read_text() for job in jobs] == [f"{i}\n" for i in range(4)]
    assert all(len(jobcomp_cluster.jobs_named(job.token)) == 1 for job in jobs)
