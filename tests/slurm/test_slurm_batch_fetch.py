"""Collecting many finished Slurm jobs in one round trip, through the local shell and over SSH:
one archive of all their work directories comes down, each job's globs are honoured, symbolic
links are never followed, and an archive naming anything outside the work directories asked
for is refused."""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from matterstack.core.status import AttemptStatus
from matterstack.plugins import FetchRequest
from matterstack_ops_slurm.batch_fetch import Destination, RefusedArchive, path_list, unpack
from matterstack_ops_slurm.control_master import LoginTarget, close_master, open_master
from matterstack_ops_slurm.openssh_transport import OpenSshTransport
from matterstack_ops_slurm.transport import LocalTransport, SshTarget, SshTransport
from slurm_helpers import job_spec

OUTPUTS = "mkdir -p sub && cat in.txt > out.txt && echo log > run.log && echo deep > sub/deep.dat && ln -s /etc/hostname link.txt"


def finished_jobs(backend, tmp_path: Path, count: int, command: str = OUTPUTS) -> list:
    """``count`` jobs submitted in one batch and followed to their end: ``(job spec, job id)``."""
    jobs = [job_spec(tmp_path, f"f{i}-{uuid.uuid4().hex[:8]}", command, files={"in.txt": f"{i}\n"}) for i in range(count)]
    answers = {}
    backend.submit_batch(jobs, lambda token, outcome: answers.setdefault(token, outcome))
    ids = [answers[job.token] for job in jobs]
    ended = {}
    for _ in range(300):
        seen = backend.poll_many([i for i in ids if i not in ended])
        ended.update((job_id, job.status) for job_id, job in seen.items() if job.status.is_terminal)
        if len(ended) == len(ids):
            break
        time.sleep(0.3)
    assert set(ended.values()) == {AttemptStatus.COMPLETED}, ended
    return list(zip(jobs, ids))


@pytest.fixture(params=["local shell", "fabric", "OpenSSH login"])
def each_transport(request, jobcomp_cluster, monkeypatch):
    """Each of the three transports to the harness: the local shell, SSH through fabric, and
    OpenSSH's client through a login (a key-only login node asks nothing)."""
    env = jobcomp_cluster.env
    where = dict(host=env["SLURM_HARNESS_SSH_HOST"], port=int(env["SLURM_HARNESS_SSH_PORT"]), user="root",
                 key_path=env["SLURM_HARNESS_SSH_KEY"], known_hosts=env["SLURM_HARNESS_SSH_KNOWN_HOSTS"])
    if request.param == "local shell":
        yield LocalTransport()
    elif request.param == "fabric":
        transport = SshTransport(SshTarget(**where))
        yield transport
        transport.close()
    else:
        folder = Path(tempfile.mkdtemp(prefix="msc-", dir="/tmp"))  # a socket path must stay short
        monkeypatch.setenv("MATTERSTACK_SSH_CONTROL_DIR", str(folder))
        target = LoginTarget(**where, control_persist="5m")
        assert open_master(target) == 0
        yield OpenSshTransport(target, "hpc.test")
        close_master(target)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_commands_binary_output_lands_in_a_file_byte_for_byte_in_one_round_trip(each_transport, tmp_path):
    # given a megabyte of every byte value in a file the command will print, and a line for its input
    blob = tmp_path / "blob"
    blob.write_bytes(bytes(range(256)) * 4096)
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as out:
        stdin.write(b"from stdin\n")
        stdin.seek(0)

        # when it runs with its output going to a local file
        result = each_transport.run_to_file(f"cat {blob}; cat; echo said >&2; exit 3", stdin, out, 30)
        out.seek(0)

        # then the file holds its output byte for byte, and one round trip was counted
        assert out.read() == blob.read_bytes() + b"from stdin\n"
    assert (result.exit_code, result.stdout, result.stderr.strip()) == (3, "", "said")
    assert each_transport.round_trips == 1


def test_collecting_finished_jobs_costs_one_round_trip_for_3_as_for_30(jobcomp_cluster, transport, make_backend, tmp_path):
    # given 33 finished jobs, each of whose attempt directories holds only its inputs
    backend = make_backend(jobcomp_cluster, transport)
    jobs = finished_jobs(backend, tmp_path, 33)

    # when the outputs of 3 of them come down, then those of the other 30
    before = backend.transport.round_trips
    small = backend.fetch_many([FetchRequest(job_id, job.input_dir) for job, job_id in jobs[:3]])
    middle = backend.transport.round_trips
    large = backend.fetch_many([FetchRequest(job_id, job.input_dir) for job, job_id in jobs[3:]])

    # then each was one round trip, and every job's outputs and control files are in its folder
    assert (middle - before, backend.transport.round_trips - middle) == (1, 1)
    assert small == {} and large == {}
    for i, (job, _) in enumerate(jobs):
        assert (job.input_dir / "out.txt").read_text() == f"{i}\n"
        assert (job.input_dir / "sub" / "deep.dat").read_text() == "deep\n"
        assert (job.input_dir / ".matterstack" / "exit_code").read_text().strip() == "0"


def test_each_job_keeps_its_own_globs_and_no_symbolic_link_comes_down(jobcomp_cluster, transport, make_backend, tmp_path):
    # given two finished jobs that left the same files, one of them a symbolic link
    backend = make_backend(jobcomp_cluster, transport)
    (first, first_id), (second, second_id) = finished_jobs(backend, tmp_path, 2)

    # when both come down together, each with globs of its own
    failures = backend.fetch_many([FetchRequest(first_id, first.input_dir, include=["*.txt"], exclude=["in.*"]),
                                   FetchRequest(second_id, second.input_dir, include=["sub/*", "run.log"])])

    # then each folder got what its globs let through, the control files, and no link
    def fetched(job) -> set[str]:
        return {p.relative_to(job.input_dir).as_posix() for p in job.input_dir.rglob("*")
                if p.is_file() and not p.is_symlink() and p.parts[-2] != ".matterstack"}

    assert failures == {}
    assert fetched(first) == {"in.txt", "out.txt"}
    assert fetched(second) == {"in.txt", "run.log", "sub/deep.dat"}
    assert all((job.input_dir / ".matterstack" / "exit_code").is_file() for job in (first, second))
    assert not (first.input_dir / "link.txt").exists() and not (first.input_dir / "link.txt").is_symlink()


def test_a_job_the_run_has_no_record_of_is_an_error_of_its_own(jobcomp_cluster, make_backend, tmp_path):
    backend = make_backend(jobcomp_cluster, "local")
    ((job, job_id),) = finished_jobs(backend, tmp_path, 1)

    failures = backend.fetch_many([FetchRequest(job_id, job.input_dir), FetchRequest("999999", tmp_path / "elsewhere")])

    assert list(failures) == ["999999"] and "no record of where Slurm job 999999 ran" in str(failures["999999"])
    assert (job.input_dir / "out.txt").read_text() == "0\n"


def test_a_job_whose_include_names_plain_files_asks_for_those_and_its_control_folder_only(tmp_path):
    destinations = {"/w/a1": Destination("1", tmp_path, include=["stderr.log", "results/sigma.txt"]),
                    "/w/a2": Destination("2", tmp_path, include=["results/*"]),
                    "/w/a3": Destination("3", tmp_path, include=["../elsewhere.txt"]),
                    "w/a4": Destination("4", tmp_path)}

    asked = path_list(destinations).read().decode().splitlines()

    assert asked == ["/w/a1/.matterstack", "/w/a1/stderr.log", "/w/a1/results/sigma.txt", "/w/a2", "/w/a3", "./w/a4"]


def hostile_archive(members: list[tuple[str, bytes | str]]) -> io.BytesIO:
    """A hand-made archive such as a compromised login node could send instead of the one
    asked for: ``(name, content)`` of regular files, or ``(name, "->target")`` of symbolic links."""
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w") as archive:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if isinstance(content, str):
                info.type, info.linkname = tarfile.SYMTYPE, content[2:]
                archive.addfile(info)
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    stream.seek(0)
    return stream


@pytest.mark.parametrize("name", ["/etc/cron.d/evil", "/remote/ws/run1/t1/a1/../../../../escape.txt",
                                  "remote/ws/run1/t1/a1/out.txt", "/remote/ws/run1/t1/a1x/out.txt"])
def test_an_archive_naming_a_file_outside_the_work_directories_is_refused(tmp_path, name):
    # given a hand-made archive holding a file of the job, then one named outside its work directory
    dest = tmp_path / "run" / "attempt"
    archive = hostile_archive([("/remote/ws/run1/t1/a1/ok.txt", b"fine\n"), (name, b"owned\n")])

    # when it is unpacked
    with pytest.raises(RefusedArchive, match="outside the work directories asked for"):
        unpack(archive, {"/remote/ws/run1/t1/a1": Destination("7", dest)})

    # then only the job's own file was written, inside its destination
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["run/attempt/ok.txt"]


def test_links_in_an_archive_are_skipped_and_no_file_is_written_through_a_link_already_there(tmp_path):
    # given an attempt directory holding a link to a folder outside it, and an archive with a
    # link of its own and a file that would land through the existing link
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "attempt"
    dest.mkdir()
    (dest / "linked").symlink_to(outside)
    archive = hostile_archive([("/w/a1/evil", "->/etc/passwd"), ("/w/a1/linked/planted.txt", b"owned\n"),
                               ("/w/a1/out.txt", b"result\n")])

    unpack(archive, {"/w/a1": Destination("7", dest)})

    assert (dest / "out.txt").read_text() == "result\n"
    assert not (dest / "evil").exists() and not (dest / "evil").is_symlink()
    assert list(outside.iterdir()) == []


def test_a_run_collects_every_output_file_of_its_tasks_over_ssh(jobcomp_cluster, slurm_run):
    # given a run of twelve tasks that each leave files in folders, one excluded by its globs
    tasks = [{"task_id": f"t{i:02d}", "files": {"in.txt": f"{i}\n"},
              "command": "mkdir -p results/deep && cat in.txt > results/a.txt && echo $((2 * $(cat in.txt))) > "
                         "results/deep/b.txt && echo scratch > big.tmp",
              "download_patterns": {"exclude": ["*.tmp"]}} for i in range(12)]
    run = slurm_run(jobcomp_cluster, tasks)

    # when it is stepped to its end
    notes = run.step_until(lambda r: r.run_status() == "COMPLETED", timeout=180)

    # then every attempt holds its outputs, recorded with their sha256, and nothing fell back
    assert not [n for n in notes if "one at a time" in n]
    for i in range(12):
        (attempt,) = run.attempts_json(f"t{i:02d}")
        folder = run.root / attempt["path"]
        assert attempt["status"] == "COMPLETED"
        assert (folder / "results" / "a.txt").read_text() == f"{i}\n"
        assert (folder / "results" / "deep" / "b.txt").read_text() == f"{2 * i}\n"
        assert not (folder / "big.tmp").exists()
    recorded = {a.task_id: a.operator_data["output_files"] for a in run.all_attempts()}
    assert all({"results/a.txt", "results/deep/b.txt"} <= set(files) for files in recorded.values())


def test_failed_tasks_over_ssh_quote_their_own_stderr_and_keep_their_outputs(jobcomp_cluster, slurm_run):
    tasks = [{"task_id": f"bad{i}", "command": f"echo partial {i} > partial.txt; echo boom {i} >&2; exit 3"}
             for i in range(3)]
    run = slurm_run(jobcomp_cluster, tasks)

    run.step_until(lambda r: r.run_status() == "FAILED", timeout=180)

    for i in range(3):
        (attempt,) = run.attempts(f"bad{i}")
        assert attempt.status.value == "FAILED"
        assert f"exit code 3: boom {i}" in attempt.status_reason
        assert (run.root / attempt.relative_path / "partial.txt").read_text() == f"partial {i}\n"
