"""Start-up stays light: heavy modules are imported by the commands that use them, never by
``--help`` or by plugin registration."""

from __future__ import annotations

import sys

import pytest

from installs import run

HEAVY = ("sqlite_utils", "cattrs", "fabric", "paramiko", "jinja2")
WEB = ("werkzeug", "jinja2", "markupsafe")
"""The approvals page's libraries, imported by ``matterstack human serve`` alone (its third,
markdown-it-py, is not among them: typer's rich help imports it anyway)."""


def imported_modules(*args: str) -> set[str]:
    result = run([sys.executable, "-X", "importtime", "-m", "matterstack", *args])
    assert result.returncode == 0, result.stderr
    return {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [("--help",), ("plugins",), ("--version",)])
def test_light_commands_import_no_heavy_module(args):
    modules = imported_modules(*args)

    assert "matterstack.cli.app" in modules
    assert not {m for m in modules if m.split(".")[0] in HEAVY}


@pytest.mark.parametrize("args", [("--help",), ("plugins",), ("human", "--help"), ("human", "serve", "--help")])
def test_no_command_but_serve_imports_the_web_libraries(args):
    modules = imported_modules(*args)

    assert not {m for m in modules if m.split(".")[0] in WEB}


def test_human_list_imports_no_web_library(tmp_path):
    (tmp_path / "workspaces").mkdir()

    modules = imported_modules("human", "list", "--workspaces-root", str(tmp_path / "workspaces"))

    assert "matterstack_ops_human.pending" in modules
    assert not {m for m in modules if m.split(".")[0] in WEB}


def test_status_of_a_run_imports_no_plugin(idle_workspace):
    where = ("--workspaces-root", str(idle_workspace.parent))
    created = run([sys.executable, "-m", "matterstack", "init", idle_workspace.name, *where])
    assert created.returncode == 0, created.stderr

    modules = imported_modules("status", created.stdout.split()[1], *where)

    assert "matterstack.store.summary" in modules
    assert not {m for m in modules if m.startswith(("pluggy", "matterstack_ops_", "matterstack.plugins.host"))}
