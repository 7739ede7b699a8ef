"""Sessions: ``tests`` (the whole suite against wheels of the four distributions, with the
Slurm test clusters of ``tools/slurm-harness`` up around it), ``soak`` (the long
reliability runs the default suite leaves out), ``bench`` (every benchmark in bench/),
``demo`` (install and try MatterStack)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).parent
WHEELHOUSE = ROOT / ".nox" / "wheelhouse"
DISTRIBUTIONS = ("matterstack-core", "matterstack-ops-slurm", "matterstack-ops-human", "matterstack-ops-experiment")
TEST_DEPENDENCIES = ("pytest", "pytest-xdist", "hypothesis", "pydantic", "selenium")
HARNESS = ROOT / "tools" / "slurm-harness"
BROWSER_INSTALL = ROOT / "tools" / "browser" / "install"
TMUX_INSTALL = ROOT / "tools" / "tmux" / "install"
SLURM_PROFILES = ("jobcomp", "accounting")
FIXTURE_PROFILES = ("maxsubmit",)
"""Harness profiles only some tests need: their fixtures start them, the sessions stop them."""

nox.options.sessions = ["tests"]


def install_from_wheelhouse(session: nox.Session, *extra: str) -> None:
    """Build wheels of the four distributions and every dependency (plus hatchling and, for
    editable installs, editables, so tests can build plugin distributions offline), then
    install from those wheels only."""
    session.run(
        "python", "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(WHEELHOUSE),
        *(str(ROOT / name) for name in DISTRIBUTIONS), "hatchling", "editables", *extra,
    )
    session.install("--no-index", "--find-links", str(WHEELHOUSE), *DISTRIBUTIONS, *extra)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the suite (``pytest -n 2``; arguments after ``--`` are added) on installed wheels,
    with Debian's chromium for the browser tests and tmux for the terminal ones (apt-installed
    when missing) and the Slurm test clusters (both harness profiles) up for its duration."""
    install_from_wheelhouse(session, *TEST_DEPENDENCIES)
    session.run(str(BROWSER_INSTALL), external=True, silent=True)
    session.run(str(TMUX_INSTALL), external=True, silent=True)
    for profile in SLURM_PROFILES:
        session.run(str(HARNESS / "slurm-up"), external=True, silent=True, env={"SLURM_HARNESS_PROFILE": profile})
    try:
        session.run("pytest", "-n", "2", *session.posargs, env={"MATTERSTACK_TEST_WHEELHOUSE": str(WHEELHOUSE)})
    finally:
        stop_clusters(session, SLURM_PROFILES + FIXTURE_PROFILES)


def stop_clusters(session: nox.Session, profiles: tuple[str, ...]) -> None:
    """``slurm-down`` for each profile (nothing happens for one that is not up)."""
    for profile in profiles:
        session.run(str(HARNESS / "slurm-down"), external=True, silent=True, env={"SLURM_HARNESS_PROFILE": profile})


@nox.session
def soak(session: nox.Session) -> None:
    """Run the tests marked ``soak`` (``pytest -m soak``, e.g. the crash campaign with 300
    kills, the Slurm runs on the accounting cluster), installed as for ``tests``, with the
    Slurm test clusters up around it; arguments after ``--`` are added."""
    install_from_wheelhouse(session, *TEST_DEPENDENCIES)
    for profile in SLURM_PROFILES:
        session.run(str(HARNESS / "slurm-up"), external=True, silent=True, env={"SLURM_HARNESS_PROFILE": profile})
    try:
        session.run("pytest", "-n", "2", "-m", "soak", *session.posargs,
                    env={"MATTERSTACK_TEST_WHEELHOUSE": str(WHEELHOUSE)})
    finally:
        stop_clusters(session, SLURM_PROFILES + FIXTURE_PROFILES)


@nox.session
def bench(session: nox.Session) -> None:
    """Run every ``bench/bench_*.py`` in turn with this session's interpreter; the peers the
    benchmarks compare against are pinned in ``bench/requirements.txt``."""
    install_from_wheelhouse(session)
    session.install("-r", str(ROOT / "bench" / "requirements.txt"))
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        session.run("python", str(script))


@nox.session
def demo(session: nox.Session) -> None:
    """Install MatterStack and run the demo campaign in a scratch copy of examples/."""
    install_from_wheelhouse(session)
    session.run("matterstack", "self-test")
    scratch = Path(session.create_tmp()) / "demo"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(ROOT / "examples", scratch / "examples")
    session.chdir(scratch)
    session.run("matterstack", "run", "examples/screening")
