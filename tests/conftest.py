"""Fixtures shared by the whole suite: plugin distributions made on the fly, the installed
``matterstack`` command, and brand-new virtual environments installed from the wheelhouse."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import venv
from pathlib import Path

import pytest

from browser import browser  # noqa: F401  (the fixture, for every test folder)
from installs import DISTRIBUTIONS, PluginPath, Venv

from matterstack.plugins import reset_plugin_host


LEGACY_RUNS = Path(__file__).parent / "fixtures" / "legacy-runs"
_CACHE_FOLDER = pytest.StashKey[str]()


def _files_of(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def pytest_configure(config):
    """The commands the tests run, in this process (plugins are found while tests are
    collected) and in the processes they start, keep their entry-point cache in a temporary
    folder of this test run, not in the user's ``~/.cache/matterstack``."""
    config.stash[_CACHE_FOLDER] = tempfile.mkdtemp(prefix="matterstack-test-cache-")
    os.environ["XDG_CACHE_HOME"] = config.stash[_CACHE_FOLDER]


def pytest_unconfigure(config):
    shutil.rmtree(config.stash.get(_CACHE_FOLDER, ""), ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def legacy_fixtures_stay_untouched():
    """Tests copy the runs 0.2.x wrote (tests/fixtures/legacy-runs) before using them: a test
    whose command found and migrated them in place fails the session, naming the files."""
    before = _files_of(LEGACY_RUNS)
    yield
    after = _files_of(LEGACY_RUNS)
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, f"a test wrote into tests/fixtures/legacy-runs (copy them first): {changed[:5]}"


@pytest.fixture(autouse=True)
def fresh_process_host():
    """No test sees another's process-wide plugin host: it is dropped before and after each."""
    reset_plugin_host()
    yield
    reset_plugin_host()


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PluginPath:
    """Plugin distributions visible to this process (on ``sys.path``) and to subprocesses."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    path = PluginPath(folder)
    yield path
    for module in path.modules:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()


@pytest.fixture
def matterstack_command() -> list[str]:
    """The installed ``matterstack`` console script of the interpreter running the tests."""
    script = Path(sys.executable).parent / "matterstack"
    assert script.exists(), f"no matterstack command beside {sys.executable}: install matterstack-core"
    return [str(script)]


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    """The folder of wheels ``nox -s tests`` builds: the local distributions and all their deps."""
    value = os.environ.get("MATTERSTACK_TEST_WHEELHOUSE")
    if not value:
        pytest.fail("MATTERSTACK_TEST_WHEELHOUSE is not set: run the suite through `nox -s tests`", pytrace=False)
    return Path(value)


@pytest.fixture
def fresh_venv(tmp_path: Path, wheelhouse: Path) -> Venv:
    """A brand-new virtual environment with the four MatterStack distributions installed
    from the wheelhouse, offline (``--no-index``)."""
    environment = Venv(tmp_path / "venv")
    venv.EnvBuilder(with_pip=True).create(environment.path)
    environment.pip("install", "--no-index", "--find-links", str(wheelhouse), *DISTRIBUTIONS)
    return environment
