"""Staging a task's files into its attempt directory: inline text, FileFromContent and
FileFromPath, the manifest and the sha256 of every input, and keys that may not escape."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from matterstack import FileFromContent, FileFromPath, Task
from matterstack.core.status import AttemptStatus, RunStatus
from matterstack.errors import PermanentOperatorError, WorkflowError
from matterstack.operators.staging import inside, list_outputs, stage_files


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_kind_of_task_file_is_staged_with_its_sha256(tmp_path, local_run):
    # given a task with inline, explicit-content, copied and nested files
    source = tmp_path / "POSCAR"
    source.write_text("Si2\n1.0\n")
    task = Task(task_id="t1", command="cat params.txt notes.md POSCAR inputs/deep/x.json > all.txt",
                files={"params.txt": "ENCUT = 520\n", "notes.md": FileFromContent("# notes\n"),
                       "POSCAR": FileFromPath(source), "inputs/deep/x.json": Path(source)},
                cores=4, memory_gb=8, time_limit_minutes=30)
    run = local_run([task])
    # when it runs, and the source file changes afterwards
    assert run.until_done() == RunStatus.COMPLETED
    source.write_text("changed\n")
    folder = run.attempt_dir("t1")
    # then the files were staged as given (copies, not links) and the command saw them
    assert (folder / "params.txt").read_text() == "ENCUT = 520\n"
    assert (folder / "notes.md").read_text() == "# notes\n"
    assert (folder / "POSCAR").read_text() == "Si2\n1.0\n" and not (folder / "POSCAR").is_symlink()
    assert (folder / "all.txt").read_text() == "ENCUT = 520\n# notes\nSi2\n1.0\nSi2\n1.0\n"
    # and config_snapshot/inputs.json holds the sha256 of every staged input
    hashes = json.loads((folder / "config_snapshot" / "inputs.json").read_text())
    assert hashes == {key: _sha(folder / key) for key in task.files}
    # and manifest.json records the task as submitted, its key and its token
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["operator_key"] == "local.default"
    assert manifest["token"] == run.attempt("t1").attempt_id
    assert manifest["task"]["task_id"] == "t1" and manifest["task"]["cores"] == 4


def test_missing_source_file_fails_the_attempt_at_init_naming_the_path(tmp_path, local_run):
    # given a task copying a file that does not exist
    missing = tmp_path / "nowhere" / "INCAR"
    run = local_run([Task(task_id="t1", command="true", files={"INCAR": FileFromPath(missing)})])
    # when the run is ticked
    status = run.until_done()
    # then the attempt is FAILED_INIT and its reason names the path and the key
    attempt = run.attempt("t1")
    assert attempt.status == AttemptStatus.FAILED_INIT
    assert str(missing) in attempt.status_reason and "'INCAR'" in attempt.status_reason
    assert status == RunStatus.FAILED


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../x", "..", "./a", "a//b"])
def test_task_refuses_file_keys_that_are_not_plain_relative_paths(key):
    # when a task is built with such a key, the workflow error names it
    with pytest.raises(WorkflowError, match="file name"):
        Task(task_id="t1", files={key: "x"})


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../x", "."])
def test_staging_refuses_keys_that_escape_the_directory(tmp_path, key):
    # given an attempt directory, when a key that leaves it is resolved, it is refused by name
    dest = tmp_path / "attempt"
    dest.mkdir()
    with pytest.raises(PermanentOperatorError, match="escapes the attempt directory"):
        inside(dest, key)


def test_staging_refuses_a_key_through_a_symlink_pointing_outside(tmp_path):
    # given an attempt directory holding a symlink to a folder outside it
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "attempt"
    dest.mkdir()
    (dest / "link").symlink_to(outside, target_is_directory=True)
    task = Task(task_id="t1", files={"link/evil.txt": "gotcha"})
    # when the task's files are staged, the key is refused and nothing is written outside
    with pytest.raises(PermanentOperatorError, match="'link/evil.txt'"):
        stage_files(task, dest)
    assert list(outside.iterdir()) == []


def test_staging_refuses_a_key_that_is_a_symlink_to_a_file_outside(tmp_path):
    # given an attempt directory where the key's name is a symlink to a file outside it
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    dest = tmp_path / "attempt"
    dest.mkdir()
    (dest / "params.txt").symlink_to(victim)
    # when a task staging params.txt is prepared, the key is refused and the file kept
    with pytest.raises(PermanentOperatorError, match="'params.txt'"):
        stage_files(Task(task_id="t1", files={"params.txt": "overwrite"}), dest)
    assert victim.read_text() == "keep me"


def test_outputs_linking_outside_the_attempt_directory_are_not_collected(tmp_path, local_run):
    # given a command that leaves a symlink to a file outside its directory
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    run = local_run([Task(task_id="t1", command=f"ln -s {secret} leak.txt; echo ok > ok.txt")])
    # when it ran
    assert run.until_done() == RunStatus.COMPLETED
    # then the link is not among the collected files, the real output is
    files = run.attempt("t1").operator_data["output_files"]
    assert "leak.txt" not in files and "ok.txt" in files


def test_every_output_is_recorded_with_its_sha256_whatever_its_size(tmp_path, local_run):
    # given a command leaving an empty file, one of exactly 1 MiB (the block hashed at a
    # time) and one of two blocks and a bit
    command = ": > empty.txt; head -c 1048576 /dev/urandom > mib.bin; head -c 2097159 /dev/urandom > big.bin"
    run = local_run([Task(task_id="t1", command=command)])
    # when it ran
    assert run.until_done() == RunStatus.COMPLETED
    # then each output's recorded sha256 is that of its bytes
    folder = run.attempt_dir("t1")
    recorded = run.attempt("t1").operator_data["output_sha256"]
    assert {name: recorded[name] for name in ("empty.txt", "mib.bin", "big.bin")} == {
        name: _sha(folder / name) for name in ("empty.txt", "mib.bin", "big.bin")}
    assert (folder / "big.bin").stat().st_size == 2097159


def test_outputs_are_every_regular_file_below_the_folder_but_its_control_files(tmp_path):
    # given an attempt folder with nested outputs, control files, and links inside and out
    folder = tmp_path / "attempt"
    (folder / "relax" / "deep").mkdir(parents=True)
    (folder / "relax" / "deep" / "CONTCAR").write_text("Si")
    (folder / "energy.txt").write_text("-5.4")
    (folder / "relax" / "manifest.json").write_text("{}")  # a control name, but not at the top
    (folder / "manifest.json").write_text("{}")
    (folder / "config_snapshot").mkdir()
    (folder / "config_snapshot" / "inputs.json").write_text("{}")
    (folder / ".matterstack").mkdir()
    (folder / ".matterstack" / "pid").write_text("1 2\n")
    (folder / ".matterstack-cancel").write_text("")
    (folder / "same.txt").symlink_to(folder / "energy.txt")
    (folder / "relax_link").symlink_to(folder / "relax", target_is_directory=True)
    (tmp_path / "outside.txt").write_text("secret")
    (folder / "leak.txt").symlink_to(tmp_path / "outside.txt")
    # when the outputs are listed, with and without patterns
    everything = list_outputs(folder, None)
    logs = list_outputs(folder, {"include": ["relax/*"], "exclude": ["*.json"]})
    # then they are the regular files below it by relative name, links inside kept, links
    # out and linked folders left out
    assert everything == {
        "energy.txt": folder / "energy.txt",
        "same.txt": folder / "same.txt",
        "relax/manifest.json": folder / "relax" / "manifest.json",
        "relax/deep/CONTCAR": folder / "relax" / "deep" / "CONTCAR",
    }
    assert logs == {"relax/deep/CONTCAR": folder / "relax" / "deep" / "CONTCAR"}
    # and a folder that is not there has no outputs
    assert list_outputs(tmp_path / "never-made", None) == {}
