"""The installed entry points are remembered between processes, and what is installed or
removed since is seen at once (matterstack.plugins.discovery)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from matterstack.plugins import PluginHost

TELESCOPE = """
    from matterstack.plugins import hookimpl

    @hookimpl
    def matterstack_operator_kinds(register):
        register("telescope", lambda key, settings, context: key)
"""

MICROSCOPE = TELESCOPE.replace("telescope", "microscope")
LONG_AGO = 1_700_000_000


def settle(folder: Path) -> None:
    """Date everything under ``folder`` to one moment long ago, as if installed then (a cache
    is only written when no time in it is recent)."""
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (LONG_AGO, LONG_AGO))


def kinds() -> set[str]:
    return set(PluginHost.load(environ={}).operator_kinds)


def versions() -> dict[str, str]:
    return {s.distribution: s.version for s in PluginHost.load(environ={}).sources.values()}


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """The cache folder, once everything installed is old enough to be remembered (a test run
    may start right after pip installed MatterStack)."""
    infos = [info for entry in sys.path if os.path.isdir(entry or ".") for info in Path(entry or ".").glob("*.*-info")]
    time.sleep(max(0.0, max((info.stat().st_mtime for info in infos), default=0) + 2.1 - time.time()))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "matterstack"


@pytest.fixture
def telescope(plugin_path, cache):
    plugin_path.add("matterstack-test-telescope", "1.2", {"telescope": "telescope_register"}, {"telescope_register": TELESCOPE})
    settle(plugin_path.folder)
    return plugin_path


def test_a_distribution_installed_after_the_first_start_is_found(telescope, cache):
    assert "telescope" in kinds()
    assert list(cache.iterdir())

    telescope.add("matterstack-test-microscope", "0.1", {"microscope": "microscope_register"},
                  {"microscope_register": MICROSCOPE})

    assert {"telescope", "microscope"} <= kinds()


def test_a_removed_distribution_is_no_longer_found(telescope, cache):
    assert "telescope" in kinds()

    (info,) = telescope.folder.glob("*.dist-info")
    for path in info.iterdir():
        path.unlink()
    info.rmdir()

    assert "telescope" not in kinds()


def test_metadata_edited_in_place_is_read_again(telescope, cache):
    assert versions()["matterstack-test-telescope"] == "1.2"

    (info,) = telescope.folder.glob("*.dist-info")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: matterstack-test-telescope\nVersion: 1.3\n")

    assert versions()["matterstack-test-telescope"] == "1.3"


def test_while_nothing_installed_changes_the_metadata_is_not_read_again(telescope, cache):
    assert versions()["matterstack-test-telescope"] == "1.2"

    (info,) = telescope.folder.glob("*.dist-info")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: matterstack-test-telescope\nVersion: 1.3\n")
    settle(telescope.folder)  # the edit now leaves no trace a start could see

    assert versions()["matterstack-test-telescope"] == "1.2"


def test_metadata_changed_in_the_last_two_seconds_is_never_remembered(plugin_path, cache):
    plugin_path.add("matterstack-test-telescope", "1.2", {"telescope": "telescope_register"}, {"telescope_register": TELESCOPE})
    assert versions()["matterstack-test-telescope"] == "1.2"

    (info,) = plugin_path.folder.glob("*.dist-info")
    stamp = (info / "METADATA").stat()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: matterstack-test-telescope\nVersion: 1.3\n")
    os.utime(info / "METADATA", ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # within one tick of the clock

    assert versions()["matterstack-test-telescope"] == "1.3"


def test_an_unwritable_cache_folder_changes_nothing(telescope, tmp_path, monkeypatch):
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))

    assert "telescope" in kinds()
    assert "telescope" in kinds()
