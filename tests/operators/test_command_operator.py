"""``CommandOperator``: a kind that says only how its command starts (and perhaps where) gets
staging, detached processes, failure reasons, cancelling and collection from the base, with
real processes in ``tmp_path``."""

from __future__ import annotations

import time
from pathlib import Path

from matterstack.plugins import AttemptContext, AttemptStatus, CommandOperator, OperatorContext, Task


class PrintfOperator(CommandOperator):
    """Writes the task's command, as one argument, to ``said.txt`` with ``printf``."""

    def command(self, attempt):
        return ["sh", "-c", 'printf "%s" "$1" > said.txt', "printf-kind", attempt.task.command]


class ElsewhereOperator(CommandOperator):
    """Runs the task's command in a folder of its own below ``context.run_dir / "elsewhere"``."""

    def work_dir(self, attempt):
        return self.context.run_dir / "elsewhere" / attempt.attempt_id


def operator_of(cls, tmp_path: Path, bare_host) -> CommandOperator:
    context = OperatorContext(run_id="r1", run_dir=tmp_path / "run", workspace_slug="ws", host=bare_host)
    return cls("cmd.default", None, context)


def attempt_of(task: Task, tmp_path: Path, attempt_id: str = "a1") -> AttemptContext:
    run_dir = tmp_path / "run"
    return AttemptContext(attempt_id=attempt_id, task=task, run_id="r1", run_dir=run_dir,
                          attempt_dir=run_dir / "tasks" / task.task_id / "attempts" / attempt_id,
                          operator_key="cmd.default")


def run_to_the_end(operator: CommandOperator, attempt: AttemptContext, timeout: float = 20.0):
    operator.prepare(attempt)
    operator.submit(attempt)
    deadline = time.monotonic() + timeout
    while True:
        observation = operator.poll([attempt])[attempt.attempt_id]
        if observation.status not in (AttemptStatus.SUBMITTED, AttemptStatus.RUNNING):
            return observation
        assert time.monotonic() < deadline, observation
        time.sleep(0.05)


def test_a_command_given_as_a_list_gets_its_arguments_as_written_and_its_outputs_collected(tmp_path, bare_host):
    operator = operator_of(PrintfOperator, tmp_path, bare_host)
    attempt = attempt_of(Task(task_id="t1", command="$HOME; `id` *", files={"in.txt": "staged"}), tmp_path)

    observation = run_to_the_end(operator, attempt)
    collected = operator.collect(attempt)

    assert (observation.status, observation.reason) == (AttemptStatus.COMPLETED, "exit code 0")
    assert (attempt.attempt_dir / "said.txt").read_text() == "$HOME; `id` *"
    assert (attempt.attempt_dir / "manifest.json").is_file()
    assert "said.txt" in collected.files and "in.txt" not in collected.files
    assert set(collected.sha256) == set(collected.files)


def test_a_failed_command_fails_its_attempt_with_the_exit_code_and_the_end_of_stderr(tmp_path, bare_host):
    operator = operator_of(CommandOperator, tmp_path, bare_host)
    attempt = attempt_of(Task(task_id="t1", command="echo warming up >&2; echo 'no input.dat' >&2; exit 4"), tmp_path)

    observation = run_to_the_end(operator, attempt)

    assert observation.status == AttemptStatus.FAILED
    assert observation.reason == "exit code 4: warming up | no input.dat"
    assert observation.exit_code == 4


def test_a_command_run_in_another_folder_sees_the_staged_files_and_its_outputs_come_back(tmp_path, bare_host):
    operator = operator_of(ElsewhereOperator, tmp_path, bare_host)
    attempt = attempt_of(Task(task_id="t1", command="cat in.txt > out.txt; echo more >> out.txt",
                              files={"in.txt": "staged\n"}), tmp_path)

    observation = run_to_the_end(operator, attempt)
    collected = operator.collect(attempt)

    assert observation.status == AttemptStatus.COMPLETED
    assert (tmp_path / "run" / "elsewhere" / "a1" / "out.txt").is_file()
    assert (attempt.attempt_dir / "out.txt").read_text() == "staged\nmore\n"
    assert collected.files["out.txt"] == "out.txt"


def test_submitting_twice_runs_once_and_reconcile_finds_the_attempt(tmp_path, bare_host):
    operator = operator_of(CommandOperator, tmp_path, bare_host)
    attempt = attempt_of(Task(task_id="t1", command="echo ran >> runs.txt"), tmp_path)
    operator.prepare(attempt)
    before = operator.reconcile([attempt])[attempt.attempt_id]

    operator.submit(attempt)
    run_to_the_end(operator, attempt)
    operator.submit(attempt)
    time.sleep(0.3)

    assert before is None
    assert operator.reconcile([attempt])[attempt.attempt_id].status == AttemptStatus.SUBMITTED
    assert (attempt.attempt_dir / "runs.txt").read_text() == "ran\n"


def test_cancel_stops_the_whole_process_group_and_the_attempt_ends_cancelled(tmp_path, bare_host):
    operator = operator_of(CommandOperator, tmp_path, bare_host)
    attempt = attempt_of(Task(task_id="t1", command="sleep 60 & echo $! > child.pid; wait"), tmp_path)
    operator.prepare(attempt)
    operator.submit(attempt)
    child_pid = attempt.attempt_dir / "child.pid"
    deadline = time.monotonic() + 10
    while not child_pid.is_file() or not child_pid.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert "process group" in operator.describe_wait(attempt)

    operator.cancel(attempt)

    assert operator.poll([attempt])[attempt.attempt_id].status == AttemptStatus.CANCELLED
    assert not Path(f"/proc/{int(child_pid.read_text())}").exists() or _is_zombie(int(child_pid.read_text()))


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True

