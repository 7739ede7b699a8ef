"""``matterstack monitor`` on a real terminal (a tmux pane): the live view of a run redraws
in place as the run moves (progress per operator instance, what each task waits for, the
last notes), and Ctrl-C leaves the shell clean, the last view on the screen and the cursor
shown. Off a terminal it prints lines, as the other monitor tests check."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from e2e_kit import ok
from installs import clean_env

INSTALL = "tools/tmux/install"
HOLD_THEN_AFTER = """
    import os
    from pathlib import Path
    from matterstack import Campaign, Task, Workflow

    class HoldThenAfter(Campaign):
        \"\"\"hold runs until $STOP exists, after waits for it; analyze fails until $FIXED exists.\"\"\"

        def plan(self, state):
            if state is not None:
                return None
            return Workflow([
                Task(task_id="hold", env={"STOP": os.environ["STOP"]},
                     command='while [ ! -e "$STOP" ]; do sleep 0.05; done'),
                Task(task_id="after", command="echo after", dependencies={"hold"}),
            ])

        def analyze(self, state, results):
            if not Path(os.environ["FIXED"]).exists():
                raise RuntimeError("the spectrum parser is not installed yet")
            return {"done": True}

    def get_campaign():
        return HoldThenAfter()
"""


class Pane:
    """One tmux server of its own (socket in the test's folder) running one command."""

    def __init__(self, socket: Path, env: dict[str, str]):
        self.socket = socket
        self.env = env

    def tmux(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-S", str(self.socket), *args], capture_output=True, text=True,
                                env=self.env, timeout=30, check=True)
        return result.stdout

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "monitor")

    def wait_for(self, condition, what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.text()
            if condition(shown):
                return shown
            assert time.monotonic() < deadline, f"the pane never showed {what}:\n{shown}"
            time.sleep(0.1)


@pytest.fixture
def pane(tmp_path):
    if shutil.which("tmux") is None:
        pytest.fail(f"tmux is missing: run {INSTALL} as root (apt-get install tmux)", pytrace=False)
    started = Pane(tmp_path / "tmux.sock", clean_env(TERM="xterm-256color"))
    yield started
    subprocess.run(["tmux", "-S", str(started.socket), "kill-server"], capture_output=True, timeout=30)


def test_monitor_redraws_a_run_in_place_and_leaves_the_terminal_clean_on_ctrl_c(project, pane, tmp_path):
    # given a run whose hold is running, with after waiting for it
    project.add_workspace("hold", HOLD_THEN_AFTER)
    stop, fixed = tmp_path / "stop", tmp_path / "fixed"
    env = clean_env(STOP=str(stop), FIXED=str(fixed))
    run_id = ok(project.matterstack("init", "hold", env=env)).stdout.split()[1]

    def step_until(condition):
        for _ in range(200):
            if condition():
                return
            ok(project.matterstack("step", run_id, env=env))
        raise AssertionError(f"not reached:\n{pane.text()}")

    step_until(lambda: [a["status"] for a in project.attempts(run_id, "hold")] == ["RUNNING"])

    # when monitor runs in a terminal
    command = f"{shlex.join(project.command)} monitor {run_id} --interval 0.2; echo monitor exited $?; sleep 600"
    pane.tmux("new-session", "-d", "-s", "monitor", "-x", "160", "-y", "40", "-c", str(project.root), command)

    # then it shows the run's progress per instance and what each task waits for
    running = pane.wait_for(lambda text: "waits for dependencies" in text, "the waiting tasks")
    assert f"{run_id}  RUNNING  hold" in running
    assert "local.default" in running and "0/2 tasks ended" in running
    assert "after [PENDING] waits for dependencies: hold (RUNNING)" in running
    assert "hold [RUNNING] waits for" in running

    # and when hold ends and analyze fails, the same view is redrawn with the note
    stop.touch()
    step_until(lambda: "spectrum parser" in pane.text())
    noted = pane.wait_for(lambda text: "2/2 tasks ended" in text and "spectrum parser" in text, "the note")
    assert noted.count(run_id) == 1 and "waits for dependencies" not in noted

    # and Ctrl-C ends it quietly: the last view stays, the shell goes on, the cursor is shown
    pane.tmux("send-keys", "-t", "monitor", "C-c")
    left = pane.wait_for(lambda text: "monitor exited" in text, "the command's end")
    assert "monitor exited 0" in left
    assert "Traceback" not in left and "KeyboardInterrupt" not in left and "Aborted" not in left
    assert left.count(run_id) == 1 and "spectrum parser" in left
    assert pane.tmux("display-message", "-p", "-t", "monitor", "#{cursor_flag}").strip() == "1"
