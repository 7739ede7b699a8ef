"""Several people answer one request at the same moment, each with ``matterstack human
respond`` in a process of its own: exactly one answer is written, with its files, and every
other responder is refused with one line naming who answered and when."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest
from human_kit import MATTERSTACK

GATED_CLI = """
import os, sys, time
from matterstack.cli.app import app, main
from matterstack.plugins.host import get_plugin_host
import matterstack_ops_human.cli, matterstack_ops_human.pending, matterstack_ops_human.answering
get_plugin_host().install_cli(app)
go = sys.argv[1]
open(f"{go}.{os.getpid()}.ready", "w").close()
while not os.path.exists(go):
    time.sleep(0.001)
sys.argv = ["matterstack", *sys.argv[2:]]
main()
"""
"""The ``matterstack`` command, run once the go file (its first argument) exists; it says it
is ready (imported, plugins loaded) with a ``<go>.<pid>.ready`` file. Starting Python takes
longer than answering, so without the gate the processes would answer one after the other."""

RESPONDERS = 12
NOTES_BODY = "notes, as a person attaches a report\n" * 1000


def answer_at_once(project, run_id: str, tmp_path, responders: int) -> list[tuple[str, subprocess.CompletedProcess]]:
    """Start ``responders`` processes of ``human respond``, each as its own user with its own
    answer and attached ``notes.txt``,
    released together once all are ready; wait for them all; return (user, result) pairs."""
    go = tmp_path / "go"
    started = []
    for index in range(responders):
        user = f"responder{index}"
        notes = tmp_path / user / "notes.txt"
        notes.parent.mkdir()
        notes.write_text(f"written by {user}\n" + NOTES_BODY)
        verdict = ["--approve", "--data", f"keep={user}"] if index % 2 else ["--reject", "--message", f"{user} says no"]
        argv = [MATTERSTACK, "human", "respond", run_id, "approve", *verdict, "--file", str(notes)]
        env = {**project.env, "USER": user, "LOGNAME": user}
        gated = [sys.executable, "-c", GATED_CLI, str(go), *argv[1:]]
        started.append((user, subprocess.Popen(gated, cwd=project.folder, env=env, text=True,
                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("go.*.ready"))) < responders and time.monotonic() < deadline:
        time.sleep(0.05)
    go.touch()
    finished = []
    for user, process in started:
        stdout, stderr = process.communicate(timeout=120)
        finished.append((user, subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)))
    return finished


def check_one_answer_wins(project, tmp_path, responders: int) -> None:
    # given a request waiting for a person
    project.add_gate_workspace()
    run_id = project.init("gate")
    project.ms("step", run_id)

    # when many people answer it at the same moment
    finished = answer_at_once(project, run_id, tmp_path, responders)

    # then exactly one was told the answer was written, and response.json is that answer
    winners = [user for user, done in finished if done.returncode == 0]
    assert len(winners) == 1, [(user, done.returncode, done.stderr) for user, done in finished]
    (winner,) = winners
    folder = project.attempt_dir(run_id, "approve")
    response = json.loads((folder / "response.json").read_text())
    assert response["responded_by"] == winner
    assert response.get("data", {}).get("keep", winner) == winner and response.get("error", f"{winner} says no") == f"{winner} says no"
    assert (folder / "notes.txt").read_text() == f"written by {winner}\n" + NOTES_BODY
    # and every other responder was refused with one line naming the winner and the time
    for user, done in finished:
        if user != winner:
            assert done.returncode == 2, (user, done.stdout, done.stderr)
            (line,) = done.stderr.strip().splitlines()
            assert re.search(rf"already answered by {winner} at {re.escape(response['responded_at'])}", line), line
    # and the next tick hands the one answer to the campaign
    project.ms("step", run_id)
    (attempt,) = project.attempts(run_id, "approve")
    assert attempt["status"] == response["status"]


def test_of_many_simultaneous_answers_exactly_one_is_written_and_the_others_are_refused(project, tmp_path):
    check_one_answer_wins(project, tmp_path, RESPONDERS)


@pytest.mark.soak
def test_soak_of_fifty_simultaneous_answers_exactly_one_is_written(project, tmp_path):
    check_one_answer_wins(project, tmp_path, 50)
