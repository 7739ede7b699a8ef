"""``rerun`` and ``reset-run`` ask ``[y/N]`` before they act, as MatterStack 0.2.x did: in a
terminal (a real pseudo-terminal here) a person answers; a script (stdin not a terminal)
must pass ``--force`` and is told so in one line; ``cancel-attempt --force`` is accepted."""

from __future__ import annotations

import os
import pty
import subprocess

import pytest
from installs import clean_env

from e2e_kit import COMMAND_TIMEOUT, SLEEPERS, TWO_TASKS, assert_one_line_error, ok, row_counts


def in_terminal(project, *args: str, answer: str) -> tuple[int, str]:
    """Run ``matterstack <args>`` with a pseudo-terminal as stdin, stdout and stderr; when it
    asks ``[y/N]``, type ``answer`` and Enter. Return its exit code and everything the
    terminal showed (the typed answer included, as a person sees it)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([*project.command, *args], stdin=follower, stdout=follower, stderr=follower,
                               cwd=project.root, env=clean_env(), close_fds=True)
    os.close(follower)
    shown, answered = b"", False
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # Linux: the terminal is gone once the command has exited
            break
        if not chunk:
            break
        shown += chunk
        if not answered and shown.endswith(b"[y/N] "):
            os.write(leader, f"{answer}\n".encode())
            answered = True
    os.close(leader)
    return process.wait(timeout=COMMAND_TIMEOUT), shown.decode().replace("\r\n", "\n")


@pytest.fixture
def finished(project):
    """A COMPLETED run of ``prepare`` → ``report``."""
    project.add_workspace("two", TWO_TASKS)
    run_id = project.init("two")
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))
    return project, run_id


def attempt_counts(project, run_id):
    return {t: len(project.attempts(run_id, t)) for t in ("prepare", "report")}


def test_rerun_in_a_terminal_lists_the_tasks_and_asks_and_no_leaves_the_run_alone(finished):
    project, run_id = finished
    before = row_counts(project.run_dir(run_id) / "state.sqlite")

    code, shown = in_terminal(project, "rerun", run_id, "prepare", "--recursive", answer="n")

    assert code == 0
    assert shown == (f"You are about to RERUN (reset to PENDING) the following tasks in run {run_id}:\n"
                     "  - prepare\n  - report\n\nProceed? [y/N] n\nAborted.\n")
    assert row_counts(project.run_dir(run_id) / "state.sqlite") == before
    assert project.run_status(run_id) == "COMPLETED"


def test_rerun_in_a_terminal_answered_yes_reruns_the_task(finished):
    project, run_id = finished

    code, shown = in_terminal(project, "rerun", run_id, "prepare", answer="y")
    ok(project.matterstack("loop", run_id, "--interval", "0.05"))

    assert code == 0, shown
    assert "rerun: prepare will get a new attempt on the next tick" in shown
    assert attempt_counts(project, run_id) == {"prepare": 2, "report": 1}


def test_reset_run_in_a_terminal_asks_are_you_sure_naming_the_action(finished):
    project, run_id = finished

    code, shown = in_terminal(project, "reset-run", run_id, "prepare", "--action", "delete", "--recursive",
                              answer="")

    assert code == 0
    assert shown == (f"You are about to DELETE the following tasks in run {run_id}:\n"
                     "  - prepare\n  - report\n\nAre you sure? [y/N] \nAborted.\n")
    assert project.attempts(run_id, "prepare")[0]["status"] == "COMPLETED"


def test_a_yes_to_rerun_of_a_running_task_still_needs_force_to_stop_it(project):
    project.add_workspace("sleepers", SLEEPERS)
    run_id = project.init("sleepers")
    ok(project.matterstack("step", run_id))

    code, shown = in_terminal(project, "rerun", run_id, "sleep_a", answer="y")

    assert code == 2
    assert shown.strip().splitlines()[-1].startswith("Error: ")
    assert "sleep_a" in shown.splitlines()[-1] and "--force" in shown.splitlines()[-1]
    assert [a["status"] for a in project.attempts(run_id, "sleep_a")] != ["CANCELLED"]


@pytest.mark.parametrize("command", [["rerun", "prepare"], ["reset-run", "prepare"],
                                     ["reset-run", "prepare", "--action", "delete", "--recursive"]],
                         ids=["rerun", "reset-run", "reset-run-delete"])
def test_a_script_without_force_is_told_to_pass_it_and_nothing_changes(finished, command):
    # given a run, and the command run as a script runs it (stdin not a terminal)
    project, run_id = finished
    db = project.run_dir(run_id) / "state.sqlite"
    before = row_counts(db)

    # when
    result = subprocess.run([*project.command, command[0], run_id, *command[1:]], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, cwd=project.root, env=clean_env(),
                            timeout=COMMAND_TIMEOUT)

    # then
    assert_one_line_error(result, f"`matterstack {command[0]}` asks [y/N]", "not a terminal", "--force")
    assert row_counts(db) == before
    assert project.run_status(run_id) == "COMPLETED"


def test_cancel_attempt_accepts_0_2_x_force_and_does_not_ask(project):
    project.add_workspace("sleepers", SLEEPERS)
    run_id = project.init("sleepers")
    ok(project.matterstack("step", run_id))
    (attempt,) = project.attempts(run_id, "sleep_b")

    result = ok(project.matterstack("cancel-attempt", run_id, attempt["attempt_id"], "--force"))

    assert f"attempt {attempt['attempt_id']} cancelled" in result.stdout
    assert project.attempts(run_id, "sleep_b")[0]["status"] == "CANCELLED"
