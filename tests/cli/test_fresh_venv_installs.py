"""Real pip installs into brand-new virtual environments, offline from the wheelhouse:
a site installs only what it needs, and a broken plugin never takes the command down."""

from __future__ import annotations

import json
import os
from pathlib import Path

from installs import clean_env, plugin_source_tree

def write_broken_distribution(folder: Path) -> Path:
    """A plugin distribution's source tree whose registration module raises on import."""
    return plugin_source_tree(
        folder, name="matterstack-test-broken", version="0.1", package="matterstack_test_broken",
        entry_point='broken = "matterstack_test_broken.register"',
        modules={"register.py": 'raise ImportError("needs the vendor SDK, which is not installed")\n'},
    )


def plugins_report(venv, env: dict[str, str] | None = None) -> dict:
    result = venv.run("matterstack", "plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_uninstalling_the_slurm_distribution_removes_its_backends_and_self_test_still_passes(fresh_venv):
    before = plugins_report(fresh_venv)
    assert "slurm" in {b for p in before["plugins"] for b in p["compute_backends"]}

    fresh_venv.pip("uninstall", "-y", "matterstack-ops-slurm")

    after = plugins_report(fresh_venv)
    backends = {b for p in after["plugins"] for b in p["compute_backends"]}
    assert backends == {"local", "profile"}
    assert "matterstack-ops-slurm" not in {p["distribution"] for p in after["plugins"]}
    self_test = fresh_venv.run("matterstack", "self-test")
    assert self_test.returncode == 0, self_test.stdout + self_test.stderr


def test_a_broken_plugin_distribution_is_reported_by_name_and_breaks_nothing(fresh_venv, wheelhouse, tmp_path):
    source = write_broken_distribution(tmp_path / "broken-src")
    fresh_venv.pip("install", "--no-index", "--find-links", str(wheelhouse), str(source))

    report = plugins_report(fresh_venv)
    self_test = fresh_venv.run("matterstack", "self-test")
    strict = fresh_venv.run("matterstack", "plugins", env=clean_env(MATTERSTACK_STRICT_PLUGINS="1"))

    (problem,) = report["problems"]
    assert problem["message"].startswith("matterstack-test-broken 0.1: entry point 'broken = matterstack_test_broken.register'")
    assert "ImportError: needs the vendor SDK" in problem["message"]
    assert len(report["plugins"]) == 4
    assert self_test.returncode == 0
    assert any(line.startswith("warn") and "matterstack-test-broken 0.1" in line for line in self_test.stdout.splitlines())
    assert strict.returncode == 2
    assert strict.stderr.startswith("Error: matterstack-test-broken 0.1: ") and strict.stderr.count("\n") == 1


TELESCOPE = """
    from matterstack.plugins import hookimpl

    @hookimpl
    def matterstack_operator_kinds(register):
        register("telescope", lambda key, settings, context: key)
"""


def installed_long_ago(venv) -> None:
    """Date the metadata of everything installed in ``venv`` a year back (the installed entry
    points are remembered only once no metadata time is recent)."""
    year_ago = 1_700_000_000
    for info in venv.path.glob("lib/python*/site-packages/*.dist-info"):
        for path in [info, *info.iterdir()]:
            os.utime(path, (year_ago, year_ago))


def kinds(report: dict) -> set[str]:
    return {kind for plugin in report["plugins"] for kind in plugin["operator_kinds"]}


def test_a_distribution_installed_or_removed_after_a_start_is_seen_by_the_next_one(fresh_venv, wheelhouse, tmp_path):
    env = clean_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    installed_long_ago(fresh_venv)
    assert "telescope" not in kinds(plugins_report(fresh_venv, env))
    assert list((tmp_path / "cache" / "matterstack").iterdir()), "the installed entry points were not remembered"
    source = plugin_source_tree(tmp_path / "telescope-src", name="matterstack-test-telescope", version="1.0",
                                package="matterstack_test_telescope",
                                entry_point='telescope = "matterstack_test_telescope.register"',
                                modules={"register.py": TELESCOPE})

    fresh_venv.pip("install", "--no-index", "--find-links", str(wheelhouse), str(source))
    installed_long_ago(fresh_venv)
    installed = plugins_report(fresh_venv, env)
    fresh_venv.pip("uninstall", "-y", "matterstack-test-telescope")
    removed = plugins_report(fresh_venv, env)

    assert "telescope" in kinds(installed)
    assert "telescope" not in kinds(removed)
    assert "matterstack-test-telescope" not in {p["distribution"] for p in removed["plugins"]}
