"""What the end-to-end tests share: a project folder driven through the installed
``matterstack`` command, campaign sources, and ways to look at what a run left on disk
(file hashes, database rows, live job processes) without going through MatterStack."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

from installs import clean_env

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
LEGACY_RUNS = REPO / "tests" / "fixtures" / "legacy-runs"
COMMAND_TIMEOUT = 180


class Project:
    """A project folder (``<root>/workspaces/...``) and the ``matterstack`` command run in it
    as subprocesses, the way a person runs it from a terminal."""

    def __init__(self, root: Path, command: list[str]):
        self.root = root
        self.workspaces = root / "workspaces"
        self.workspaces.mkdir(parents=True, exist_ok=True)
        self.command = command
        self._run_dirs: dict[str, Path] = {}

    def matterstack(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
                    timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess:
        """Run ``matterstack <args>`` to the end and capture its output (never raises on exit codes)."""
        return subprocess.run([*self.command, *args], capture_output=True, text=True,
                              cwd=cwd or self.root, env=env or clean_env(), timeout=timeout)

    def start(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start ``matterstack <args>`` in the background, output captured to pipes."""
        return subprocess.Popen([*self.command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=cwd or self.root, env=env or clean_env())

    def add_workspace(self, slug: str, main_py: str | None) -> Path:
        """A workspace folder under ``workspaces/`` holding ``main_py`` (none if None)."""
        folder = self.workspaces / slug
        folder.mkdir(parents=True, exist_ok=True)
        if main_py is not None:
            (folder / "main.py").write_text(textwrap.dedent(main_py))
        return folder

    def init(self, workspace: str, *extra: str) -> str:
        """``matterstack init`` a run; return its id."""
        result = ok(self.matterstack("init", workspace, *extra))
        first = result.stdout.split()
        assert first[0] == "Run", result.stdout
        return first[1]

    def run_dir(self, run_id: str) -> Path:
        """The folder of run ``run_id``, wherever below the project it is."""
        if run_id not in self._run_dirs:
            (found,) = [p for p in self.root.rglob(f"runs/{run_id}") if (p / "state.sqlite").is_file()]
            self._run_dirs[run_id] = found
        return self._run_dirs[run_id]

    def db(self, run_id: str):
        """``with project.db(run_id) as db:`` a read-only connection to the run's database."""
        return read_db(self.run_dir(run_id) / "state.sqlite")

    def run_status(self, run_id: str) -> str:
        with self.db(run_id) as db:
            return db.execute("SELECT status FROM runs").fetchone()[0]

    def attempts(self, run_id: str, task_id: str | None = None) -> list[sqlite3.Row]:
        where = " WHERE task_id = ?" if task_id else ""
        sql = f"SELECT * FROM task_attempts{where} ORDER BY task_id, attempt_index"
        with self.db(run_id) as db:
            return db.execute(sql, (task_id,) if task_id else ()).fetchall()

    def wait_for(self, condition, timeout: float = 60.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)

    def step_until(self, run_id: str, condition, max_steps: int = 100) -> None:
        """``matterstack step`` until ``condition()`` holds (a short pause between steps)."""
        for _ in range(max_steps):
            if condition():
                return
            ok(self.matterstack("step", run_id))
            time.sleep(0.05)
        assert condition(), f"{run_id}: not reached after {max_steps} steps"


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    """``result`` after checking it exited 0 (its output is shown if not)."""
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str, code: int = 2) -> str:
    """The command failed with ``code`` and said so in one ``Error:`` line holding ``words``."""
    assert result.returncode == code, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    return lines[0]


@contextlib.contextmanager
def read_db(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection, closed on leaving the block, with rows by column name (a
    0.2.x file's column order varies)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    try:
        yield connection
    finally:
        connection.close()


def row_counts(db_path: Path) -> dict[str, int]:
    with read_db(db_path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hash_tree(folder: Path) -> dict[str, str]:
    """Every file and folder below ``folder``: relative path → sha256 of the bytes ('dir' for a folder)."""
    tree = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        tree[relative] = "dir" if path.is_dir() else sha256(path)
    return tree


def copy_writable(source: Path, target: Path) -> Path:
    """Copy a fixture folder and make the copy writable (the fixtures are read-only files)."""
    shutil.copytree(source, target, dirs_exist_ok=True)
    for path in [target, *target.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR | (stat.S_IXUSR if path.is_dir() else 0))
    return target


def job_pids(root: Path) -> list[int]:
    """Pids of local jobs below ``root`` still alive. Each job's claim, ``.matterstack`` (or
    ``.matterstack/pid`` if an earlier version started it), holds its wrapper's pid, the leader
    of the job's process group (and, if an earlier version wrote it, the wrapper's start time:
    a pid reused since is not counted): a job is alive while any process of that group is."""
    groups = _live_process_groups()
    alive = []
    for claim in root.rglob(".matterstack"):
        pid_file = claim / "pid" if claim.is_dir() else claim
        if not pid_file.is_file():
            continue
        pid_text, _, started = pid_file.read_text().strip().partition(" ")
        if not pid_text.isdigit():
            continue  # being written
        leader = _stat_fields(int(pid_text))
        if leader is not None and started and leader[19] != started:
            continue  # the pid now belongs to another process
        if int(pid_text) in groups:
            alive.append(int(pid_text))
    return alive


def _live_process_groups() -> set[int]:
    groups = set()
    for entry in Path("/proc").iterdir():
        fields = _stat_fields(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and fields[0] != "Z":
            groups.add(int(fields[2]))
    return groups


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None


def kill_jobs(root: Path) -> None:
    """Stop every local job below ``root`` (clean-up after a test that leaves ``sleep`` running)."""
    for pgid in job_pids(root):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def holds_file(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open (``/proc/<pid>/fd``)."""
    target = str(path.resolve())
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                return True
        except OSError:
            continue
    return False


class LockHolder:
    """Another process holding a run's ``run.lock`` (``flock``, as a running ``step`` does)
    until :meth:`release`."""

    _SCRIPT = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )

    def __init__(self, run_dir: Path):
        self.process = subprocess.Popen([sys.executable, "-c", self._SCRIPT, str(run_dir / "run.lock")],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=30)

    def __enter__(self) -> "LockHolder":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


TWO_TASKS = """
    from matterstack import Campaign, Task, Workflow

    class TwoTasks(Campaign):
        \"\"\"``prepare`` writes a file, ``report`` (after it) another; one iteration.\"\"\"

        def plan(self, state):
            if state is not None:
                return None
            wf = Workflow()
            wf.add_task(Task(task_id="prepare", command="echo prepared > prepared.txt"))
            wf.add_task(Task(task_id="report", command="echo reported > report.txt", dependencies={"prepare"}))
            return wf

        def analyze(self, state, results):
            return {"finished": sorted(results)}

    def get_campaign():
        return TwoTasks()
"""

SLEEPERS = """
    from matterstack import Campaign, Task, Workflow

    class Sleepers(Campaign):
        \"\"\"Two long ``sleep`` tasks, and a quick task with a dependent.\"\"\"

        def plan(self, state):
            if state is not None:
                return None
            wf = Workflow()
            wf.add_task(Task(task_id="sleep_a", command="sleep 120"))
            wf.add_task(Task(task_id="sleep_b", command="sleep 120"))
            wf.add_task(Task(task_id="quick", command="echo quick > quick.txt"))
            wf.add_task(Task(task_id="after_quick", command="echo after > after.txt", dependencies={"quick"}))
            return wf

        def analyze(self, state, results):
            return {"statuses": {t: r["status"] for t, r in sorted(results.items())}}

    def get_campaign():
        return Sleepers()
"""

CRASH_CAMPAIGN = """
    import shlex
    from pathlib import Path

    from matterstack import Campaign, Task, Workflow

    HERE = Path(__file__).resolve().parent
    MARKERS = HERE / "markers.txt"
    WIDTH = 16

    def marker_task(task_id, dependencies=()):
        # One line per execution: the task id and the attempt id (the job's folder name).
        command = f'echo "{task_id} $(basename "$PWD")" >> {shlex.quote(str(MARKERS))}'
        return Task(task_id=task_id, command=command, dependencies=set(dependencies))

    class CrashCampaign(Campaign):
        \"\"\"Iteration i: WIDTH independent tasks ``i<i>_a<k>``, then WIDTH/2 tasks
        ``i<i>_b<k>`` each needing two of them. Iterations go on until a file ``stop``
        appears beside this file.\"\"\"

        def plan(self, state):
            if state is not None and (HERE / "stop").exists():
                return None
            iteration = 0 if state is None else state["iteration"]
            wf = Workflow()
            for k in range(WIDTH):
                wf.add_task(marker_task(f"i{iteration:03d}_a{k:02d}"))
            for k in range(WIDTH // 2):
                wf.add_task(marker_task(f"i{iteration:03d}_b{k:02d}",
                                        [f"i{iteration:03d}_a{2 * k:02d}", f"i{iteration:03d}_a{2 * k + 1:02d}"]))
            return wf

        def analyze(self, state, results):
            return {"iteration": (state or {}).get("iteration", 0) + 1}

    def get_campaign():
        return CrashCampaign()
"""
