"""docs/troubleshooting.md quotes what the CLI really prints: each situation is recreated
(a real run, a real closed SSH port, a real lock held by this process, a real plugin that
fails to import) and the page's console block is replayed against it."""

from __future__ import annotations

import fcntl
import sqlite3
import textwrap
from pathlib import Path

import pytest
from console_blocks import Console, tagged_blocks, untagged_blocks
from installs import clean_env

PAGE = Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md"
RUN_ID = "20261124_101500_3f9a2c1e"
UNREADABLE_RUN_ID = "20261124_093000_0badc0de"
SHOWN_PROJECT = "/home/alice/project"

CAMPAIGN = """\
from matterstack import Campaign, Task, Workflow


class Demo(Campaign):
    def plan(self, state):
        if state is not None:
            return None
        wf = Workflow()
        wf.add_task(Task(task_id="simulate", command="echo simulated > out.txt", operator_key="hpc.gpu"))
        return wf

    def analyze(self, state, results):
        return {}


def get_campaign():
    return Demo()
"""

# A cluster whose sshd is down: nothing listens on port 1 of loopback. The page shows it as
# login.cluster.edu:22.
UNREACHABLE_CLUSTER = """\
operators:
  local.default: {kind: local}
  hpc.gpu:
    kind: hpc
    backend: {type: slurm, workspace_root: /scratch/alice, ssh: {host: 127.0.0.1, port: 1, user: alice}}
"""
FIXED_WIRING = "operators:\n  local.default: {kind: local}\n  hpc.gpu: {kind: hpc}\n"

# A distribution installed the way pip lays one out, whose module imports what is not there.
BROKEN_PLUGIN = {
    "matterstack_telescope-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: matterstack-telescope\nVersion: 0.1\n",
    "matterstack_telescope-0.1.dist-info/entry_points.txt": "[matterstack]\ntelescope = matterstack_telescope\n",
    "matterstack_telescope.py": "import astropy_driver\n",
}


class Situation:
    """The demo project of the page, driven by the installed ``matterstack``."""

    def __init__(self, root: Path, command: list[str]):
        self.project = root / "project"
        (self.project / "workspaces" / "demo").mkdir(parents=True)
        (self.project / "workspaces" / "demo" / "main.py").write_text(CAMPAIGN)
        self.console = Console(self.project, clean_env(), Path(command[0]).parent, {str(self.project): SHOWN_PROJECT})

    def sh(self, command: str) -> None:
        result = self.console.output(command)
        assert result.returncode in (0, 1), result.stdout

    def init(self, *options: str) -> None:
        self.sh(" ".join(["matterstack", "init", "demo", "--run-id", RUN_ID, *options]))

    def write(self, relative: str, text: str) -> None:
        path = self.project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def unknown_key(s: Situation) -> None:
    s.init()


def unknown_key_fixed(s: Situation) -> None:
    s.init()
    s.sh(f"matterstack step {RUN_ID}")
    s.write("operators.yaml", FIXED_WIRING)


def ssh_down(s: Situation) -> None:
    s.write("operators.yaml", UNREACHABLE_CLUSTER)
    s.init("--operators-config", "operators.yaml")
    s.console.shown_as["127.0.0.1:1"] = "login.cluster.edu:22"


def broken_plugin(s: Situation) -> None:
    for relative, text in BROKEN_PLUGIN.items():
        s.write(f"site/{relative}", text)
    s.init()
    s.console.env["PYTHONPATH"] = str(s.project / "site")


def plugin_variables(s: Situation) -> None:
    s.write("operators.yaml", UNREACHABLE_CLUSTER)


def unreadable_run(s: Situation) -> None:
    s.init()
    s.sh(f"matterstack init demo --run-id {UNREADABLE_RUN_ID}")
    database = s.project / "workspaces/demo/runs" / UNREADABLE_RUN_ID / "state.sqlite"
    data = database.read_bytes()
    database.write_bytes(data[: len(data) // 2])


def oversized_config(s: Situation) -> None:
    line = "# " + "x" * 77 + "\n"
    s.write("operators.yaml", FIXED_WIRING + line * int(1.5 * 1024 * 1024 / len(line)))


LONG_TASK_ID = """\
from matterstack import Campaign, Task, Workflow


class Long(Campaign):
    def plan(self, state):
        return Workflow([Task(task_id="relax_" + "Fe2O3_" * 50, command="true")])

    def analyze(self, state, results):
        return {}


def get_campaign():
    return Long()
"""
LIST_PLAN = LONG_TASK_ID.replace('Workflow([Task(task_id="relax_" + "Fe2O3_" * 50, command="true")])',
                                 '[Task(task_id="relax", command="true")]')

# A distribution whose factory names a class its module does not have (a typo).
FACTORY_TYPO_PLUGIN = {
    **{name: text for name, text in BROKEN_PLUGIN.items() if name.endswith((".dist-info/METADATA", "entry_points.txt"))},
    "matterstack_telescope.py": (
        "from matterstack.plugins import LazyFactory, hookimpl\n\n\n"
        "class TelescopeOperator:\n    pass\n\n\n"
        "@hookimpl\ndef matterstack_operator_kinds(register):\n"
        "    register('telescope', LazyFactory('matterstack_telescope:TelescopeOperatr'))\n"),
}


def bad_plan(s: Situation) -> None:
    s.write("workspaces/long/main.py", LONG_TASK_ID)
    s.write("workspaces/listplan/main.py", LIST_PLAN)


def factory_typo(s: Situation) -> None:
    for relative, text in FACTORY_TYPO_PLUGIN.items():
        s.write(f"site/{relative}", text)
    s.write("operators.yaml", "operators:\n  local.default: {kind: local}\n  telescope.main: {kind: telescope}\n")
    s.console.env["PYTHONPATH"] = str(s.project / "site")


SETUPS = {
    "unknown-key": unknown_key,
    "unknown-key-fixed": unknown_key_fixed,
    "ssh-down": ssh_down,
    "locked": unknown_key,
    "broken-plugin": broken_plugin,
    "plugin-variables": plugin_variables,
    "debug": lambda s: None,
    "database-busy": unknown_key,
    "unreadable-run": unreadable_run,
    "bad-run-id": lambda s: None,
    "oversized-config": oversized_config,
    "bad-plan": bad_plan,
    "factory-typo": factory_typo,
}


def test_every_console_block_of_the_page_is_a_tested_situation():
    assert not untagged_blocks(PAGE)
    assert set(tagged_blocks(PAGE)) == set(SETUPS)


@pytest.mark.parametrize("scenario", sorted(SETUPS))
def test_the_page_quotes_what_the_cli_prints(scenario, tmp_path, matterstack_command):
    # given the situation the page describes
    situation = Situation(tmp_path, matterstack_command)
    SETUPS[scenario](situation)
    block = tagged_blocks(PAGE)[scenario]

    # when / then the page's commands print what the page shows
    if scenario == "locked":
        with open(situation.project / "workspaces/demo/runs" / RUN_ID / "run.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held as a running `loop` holds it
            situation.console.replay(block)
    elif scenario == "database-busy":
        holder = sqlite3.connect(situation.project / "workspaces/demo/runs" / RUN_ID / "state.sqlite",
                                 isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # held as a sqlite3 shell after BEGIN holds it
        try:
            situation.console.replay(block)
        finally:
            holder.close()
    else:
        situation.console.replay(block)
