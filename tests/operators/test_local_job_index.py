"""The local backend's job index: one appended line per job, found again by any later
process, written safely from several threads, and the per-job files of earlier runs still read."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from process_watch import wait_for

from matterstack.backends.local import LocalBackend
from matterstack.core.status import AttemptStatus
from matterstack.plugins import JobSpec, OperatorContext
from matterstack.plugins.builtin import LocalBackendSettings


def backend_of(run_dir) -> LocalBackend:
    context = OperatorContext(run_id="r1", run_dir=run_dir, workspace_slug="ws", host=None)
    return LocalBackend(LocalBackendSettings(), context)


def submit(backend: LocalBackend, run_dir, token: str, command: str = "true") -> str:
    folder = run_dir / "tasks" / token
    folder.mkdir(parents=True)
    return backend.submit(JobSpec(token=token, command=command, input_dir=folder, relative_dir=token))


def all_exited(backend: LocalBackend, ids: list[str]):
    """Wait until every job of ``ids`` exited; what the backend said of each."""
    def seen():
        jobs = backend.poll_many(ids)
        return jobs if all(job.native_state == "exited" for job in jobs.values()) else None

    return wait_for(seen, what="every job to exit")


def test_jobs_submitted_from_many_threads_are_each_found_by_a_fresh_backend(tmp_path):
    # given 40 jobs submitted at once from 8 threads, then the backend closed
    tokens = [f"attempt-{i}" for i in range(40)]
    first = backend_of(tmp_path)
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda token: submit(first, tmp_path, token, f"exit {len(token) % 3}"), tokens))
    first.close()
    # when another process's backend polls them
    later = backend_of(tmp_path)
    seen = all_exited(later, ids)
    # then every job was recorded on its own line and each outcome is its own
    lines = (tmp_path / ".matterstack-local" / "jobs.jsonl").read_text().splitlines()
    assert len(lines) == 40
    assert {token: seen[token].exit_code for token in tokens} == {token: len(token) % 3 for token in tokens}
    assert later.find_by_token(tokens) == {token: token for token in tokens}


def test_a_line_that_is_not_a_job_record_is_skipped_and_the_rest_still_read(tmp_path):
    # given an index holding a job, then a damaged line, then another job
    first = backend_of(tmp_path)
    submit(first, tmp_path, "before")
    index = tmp_path / ".matterstack-local" / "jobs.jsonl"
    with index.open("a") as fh:
        fh.write('{"job": "half-writ\n')
    submit(first, tmp_path, "after")
    first.close()
    # when a fresh backend polls both
    later = backend_of(tmp_path)
    seen = all_exited(later, ["before", "after"])
    # then both are known and completed
    assert {token: job.status for token, job in seen.items()} == {"before": AttemptStatus.COMPLETED,
                                                                  "after": AttemptStatus.COMPLETED}


def test_a_job_recorded_by_an_earlier_version_in_its_own_index_file_is_still_polled(tmp_path):
    # given a job that ran, recorded the old way: one file per job naming its work directory
    done = backend_of(tmp_path)
    submit(done, tmp_path, "old-job", "exit 5")
    all_exited(done, ["old-job"])
    done.close()
    (tmp_path / ".matterstack-local" / "jobs.jsonl").unlink()
    old_index = tmp_path / ".matterstack-local" / "jobs"
    old_index.mkdir()
    (old_index / "old-job").write_text(str((tmp_path / "tasks" / "old-job").resolve()))
    # when a backend of this version polls it
    seen = backend_of(tmp_path).poll_many(["old-job"])["old-job"]
    # then its outcome is read from its work directory
    assert (seen.status, seen.exit_code) == (AttemptStatus.FAILED, 5)
