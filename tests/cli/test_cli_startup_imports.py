"""Start-up stays light: heavy modules are imported by the commands that use them, never by
``--help`` or by plugin registration."""

from __future__ import annotations

import sys

import pytest

from installs import run

HEAVY = ("sqlite_utils", "cattrs", "fabric", "paramiko", "jinja2")


def imported_modules(*args: str) -> set[str]:
    result = run([sys.executable, "-X", "importtime", "-m", "matterstack", *args])
    assert result.returncode == 0, result.stderr
    return {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [("--help",), ("plugins",), ("--version",)])
def test_light_commands_import_no_heavy_module(args):
    modules = imported_modules(*args)

    assert "matterstack.cli.app" in modules
    assert not {m for m in modules if m.split(".")[0] in HEAVY}
