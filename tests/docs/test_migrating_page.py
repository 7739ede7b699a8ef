"""docs/migrating.md is what happens to a real 0.2.x project: every console block of the page
is replayed, in page order, against a writable copy of the legacy fixture it names
(tests/fixtures/legacy-runs/v2 written by MatterStack 0.2.5, v3 by 0.2.7, v4 by 0.2.6)."""

from __future__ import annotations

import re
import shutil
import stat
from pathlib import Path

import pytest
from console_blocks import Console, tagged_blocks, untagged_blocks
from installs import clean_env

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "migrating.md"
LEGACY_RUNS = REPO / "tests" / "fixtures" / "legacy-runs"
YAML_BEFORE_SCENARIO = re.compile(r"```yaml\n(.*?)```\n\n<!-- scenario: ([\w-]+) -->", re.DOTALL)


def legacy_project(version: str, root: Path) -> Path:
    """A project folder whose ``workspaces/`` is a writable copy of fixture ``version``."""
    project = root / "project"
    shutil.copytree(LEGACY_RUNS / version, project / "workspaces")
    for path in [project, *project.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR | (stat.S_IXUSR if path.is_dir() else 0))
    return project


def test_every_console_block_of_the_page_replays_against_a_fixture():
    names = list(tagged_blocks(PAGE))

    assert not untagged_blocks(PAGE)
    assert {name.split("-", 1)[0] for name in names} == {"v2", "v3", "v4"}
    assert shutil.which("sqlite3"), "the page checks databases with the sqlite3 command: install it"


@pytest.mark.parametrize("version", ["v2", "v3", "v4"])
def test_the_page_commands_migrate_and_continue_a_legacy_project(version, tmp_path, matterstack_command):
    # given a copy of the fixture, and the files the page writes before a block
    project = legacy_project(version, tmp_path)
    files_before = {name: text for text, name in YAML_BEFORE_SCENARIO.findall(PAGE.read_text())}
    console = Console(project, clean_env(), Path(matterstack_command[0]).parent)

    # when / then each of its blocks, in page order, prints what the page shows
    for name, block in tagged_blocks(PAGE).items():
        if name.startswith(f"{version}-"):
            if name in files_before:
                (project / "operators.yaml").write_text(files_before[name])
            console.replay(block)


def test_the_backup_the_page_makes_is_the_untouched_0_2_5_database(tmp_path, matterstack_command):
    # given the page's v2 blocks replayed
    project = legacy_project("v2", tmp_path)
    console = Console(project, clean_env(), Path(matterstack_command[0]).parent)
    for name in ("v2-backup", "v2-migrate"):
        console.replay(tagged_blocks(PAGE)[name])

    # then the copy still is the file 0.2.5 wrote, and restoring it is possible
    run = "catalyst_loop/runs/20261124_142245_e5542ff0/state.sqlite"
    assert (project / "runs-0.2.5-backup" / run.split("/", 2)[2]).read_bytes() == (LEGACY_RUNS / "v2" / run).read_bytes()
