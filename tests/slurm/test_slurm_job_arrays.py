"""Job arrays of the ``slurm`` backend (``slurm: {job_arrays: true}``) against a real cluster:
jobs of one shape go as one ``sbatch --array``, each element runs its own job's command in
its own work directory with its own exit code, polling, cancel and adoption work per element,
and arrays respect the site's ``MaxArraySize``."""

from __future__ import annotations

import uuid

import pytest

from matterstack.core.status import AttemptStatus
from matterstack_ops_slurm import job_arrays
from slurm_helpers import CountingTransport, follow, job_spec


def batch(tmp_path, count: int, command: str = "cat in.txt > out.txt; exit $(cat code.txt)", **fields) -> list:
    return [job_spec(tmp_path, f"e{i}-{uuid.uuid4().hex[:8]}", command,
                     files={"in.txt": f"{i}\n", "code.txt": f"{3 if i == 2 else 0}\n"}, **fields)
            for i in range(count)]


def submit_all(backend, jobs) -> dict:
    answers = {}
    backend.submit_batch(jobs, lambda token, outcome: answers.setdefault(token, outcome))
    return answers


def test_jobs_of_one_shape_go_as_one_array_and_each_element_keeps_its_own_files_and_exit_code(
        any_cluster, transport, make_backend, tmp_path):
    # given a backend with job arrays and five same-shaped jobs, the third exiting 3
    backend = make_backend(any_cluster, transport, slurm={"job_arrays": True, "array_parallel": 2})
    jobs = batch(tmp_path, 5)

    # when they are submitted in one batch and followed to their end
    answers = submit_all(backend, jobs)
    seen = {job.token: follow(backend, answers[job.token]) for job in jobs}
    for job in jobs:
        backend.fetch(answers[job.token], job.input_dir, include=["out.txt"])

    # then they are the elements 0..4 of one array job, and each ran in its own folder
    masters = {answers[job.token].split("_")[0] for job in jobs}
    assert len(masters) == 1 and [answers[job.token].split("_")[1] for job in jobs] == ["0", "1", "2", "3", "4"]
    assert [seen[job.token].status for job in jobs] == [AttemptStatus.COMPLETED] * 2 + [AttemptStatus.FAILED] + [
        AttemptStatus.COMPLETED] * 2
    assert seen[jobs[2].token].exit_code == 3
    assert [(job.input_dir / "out.txt").read_text() for job in jobs] == [f"{i}\n" for i in range(5)]
    assert all((job.input_dir / ".matterstack" / "exit_code").is_file() for job in jobs)


def test_a_thousand_same_shaped_jobs_are_one_array_on_a_site_whose_arrays_hold_1001(
        jobcomp_cluster, make_backend, tmp_path):
    backend = make_backend(jobcomp_cluster, "local", slurm={"job_arrays": True, "partition": "debug",
                                                            "hold": True})
    assert backend.site.max_array_size == 1001

    answers = submit_all(backend, batch(tmp_path, 1000, command="true"))
    masters = {job_id.split("_")[0] for job_id in answers.values()}
    jobcomp_cluster.slurm("scancel", *masters)

    assert len(answers) == 1000 and all(isinstance(j, str) and "_" in j for j in answers.values())
    assert len(masters) == 1
    assert sorted(int(j.split("_")[1]) for j in answers.values()) == list(range(1000))


def test_arrays_are_split_at_the_limit_and_jobs_of_other_shapes_go_in_their_own(jobcomp_cluster, make_backend, tmp_path):
    backend = make_backend(jobcomp_cluster, "local", slurm={"job_arrays": True, "hold": True})
    backend.learn_array_limit(4)
    jobs = batch(tmp_path / "a", 10) + batch(tmp_path / "b", 3, cores=2) + batch(tmp_path / "c", 1, memory_gb=1)

    answers = submit_all(backend, jobs)
    jobcomp_cluster.slurm("scancel", *{j.split("_")[0] for j in answers.values()})

    masters = [answers[job.token].split("_")[0] for job in jobs]
    assert len(set(masters[:10])) == 3 and len(set(masters[10:13])) == 1 and "_" not in answers[jobs[13].token]
    assert set(masters[:10]).isdisjoint(masters[10:13])


def test_cancelling_one_element_leaves_the_others_and_cancelling_all_names_the_array_once(
        jobcomp_cluster, make_backend, tmp_path):
    backend = make_backend(jobcomp_cluster, "local", slurm={"job_arrays": True, "hold": True})
    counting = CountingTransport(backend.transport)
    backend.transport = counting
    jobs = batch(tmp_path, 3)
    answers = submit_all(backend, jobs)
    ids = [answers[job.token] for job in jobs]
    master = ids[0].split("_")[0]

    def queued():
        listed = jobcomp_cluster.slurm("squeue", "-h", "-r", "-j", master, "-o", "%i|%T").stdout
        return dict(line.split("|") for line in listed.splitlines())

    backend.cancel(ids[0])
    after_one = queued()
    backend.cancel_many(ids[1:])
    scancel_of_the_rest = counting.commands[-1]
    after_all = queued()
    backend.cancel_many(ids)

    assert after_one == {ids[1]: "PENDING", ids[2]: "PENDING"}
    assert scancel_of_the_rest == f"scancel {ids[1]} {ids[2]}"
    assert after_all == {}
    assert counting.commands[-1] == f"scancel {master}"


def test_an_array_submitted_by_a_batch_killed_before_it_recorded_the_job_ids_is_adopted_not_submitted_again(
        jobcomp_cluster, make_backend, tmp_path):
    # given an array whose elements were submitted, but whose job-id records were lost
    backend = make_backend(jobcomp_cluster, "local", slurm={"job_arrays": True, "hold": True})
    jobs = batch(tmp_path, 3)
    first = submit_all(backend, jobs)
    for job in jobs:
        (tmp_path / "cluster-workspace" / job.relative_dir / ".matterstack" / "job_id").unlink()

    # when the same jobs are submitted again
    again = submit_all(backend, jobs)
    jobcomp_cluster.slurm("scancel", first[jobs[0].token].split("_")[0])

    # then each is adopted as the element it already is
    assert again == first


def test_element_ids_and_the_driver_script(tmp_path):
    from matterstack_ops_slurm.register import SlurmDefaults

    job = job_spec(tmp_path, "t1", "true", cores=2)
    driver = job_arrays.driver_script(job, SlurmDefaults(partition="debug"))

    assert job_arrays.element_index("123_4") == ("123", "4") and job_arrays.element_index("123") is None
    assert "#SBATCH --partition=debug" in driver and "#SBATCH --cpus-per-task=2" in driver
    assert "job-name" not in driver and "--output" not in driver
    assert job_arrays.shape(job, SlurmDefaults(options={"error": "e.txt"})) is None


@pytest.mark.parametrize("sizes, limit, expected", [
    ([1, 1, 1], 1001, [0, 0, 0]),
    ([1], 1001, [None]),
    ([1, 2, 1, 2, 3], 1001, [0, 1, 0, 1, None]),
    ([1] * 5, 2, [0, 0, 1, 1, None]),
])
def test_jobs_are_grouped_by_shape_up_to_the_limit(sizes, limit, expected):
    assert job_arrays.groups([(("cpus", s),) for s in sizes], limit) == expected
