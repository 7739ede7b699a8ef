"""docs/cli.md is the typer app's own reference: regenerating it changes nothing, and it
names every command and sub-command, core's and the first-party plugins'."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from installs import clean_env

from matterstack.cli.reference import REFRESH_COMMAND, command_tree, every_command_path, first_party_host
from matterstack.errors import PluginError

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "cli.md"


def test_regenerating_the_cli_reference_gives_docs_cli_md_byte_for_byte(tmp_path):
    # given the generator run as a person runs it, in a clean environment
    fresh = tmp_path / "cli.md"

    # when
    result = subprocess.run([sys.executable, "-m", "matterstack.cli.reference", str(fresh)],
                            capture_output=True, text=True, env=clean_env(), cwd=tmp_path, timeout=120)

    # then
    assert result.returncode == 0, result.stderr
    assert fresh.read_text() == PAGE.read_text(), f"docs/cli.md is stale: run `{REFRESH_COMMAND}` to refresh it"


def test_the_cli_reference_has_a_section_for_every_command_of_the_app():
    text = PAGE.read_text()
    paths = every_command_path(command_tree())

    missing = [" ".join(p) for p in paths if f"`matterstack {' '.join(p)}`" not in text]

    assert {("human", "respond"), ("experiment", "agent"), ("operators", "check"), ("step",)} <= set(paths)
    assert not missing, f"docs/cli.md lacks {missing}: run `{REFRESH_COMMAND}` to refresh it"


def test_the_generator_refuses_a_command_line_missing_one_of_its_plugins():
    # given a plugin the reference should document that is not installed
    with pytest.raises(PluginError) as caught:
        first_party_host(("matterstack-ops-human", "matterstack-ops-telescope"))

    assert caught.value.one_line().startswith(
        "cannot document the command line: MATTERSTACK_LOAD_PLUGINS names 'matterstack-ops-telescope',")
