"""``matterstack plugin new KIND`` writes a plugin distribution that installs and passes its
own tests (the conformance kit among them) unchanged, in a brand-new virtual environment with
matterstack-core only, offline; and refuses, in one line, what it cannot write."""

from __future__ import annotations

import re
import subprocess
import venv
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from installs import Venv, clean_env, run

CONFORMANCE_TESTS = {
    "test_attempts_polled_together_end_completed_or_failed_with_their_results",
    "test_submitting_one_token_twice_starts_one_execution",
    "test_reconcile_finds_an_attempt_submitted_by_a_process_killed_before_it_could_record_it",
    "test_cancel_stops_a_long_attempt_and_it_ends_cancelled",
    "test_invalid_settings_are_refused_with_one_line_naming_the_key_path",
    "test_an_unreachable_system_never_fails_the_attempt[fake-unreachable]",
    "test_a_tick_during_an_outage_keeps_the_attempt_active_and_explain_shows_it[fake-unreachable]",
    "test_describe_wait_says_in_a_sentence_what_an_active_attempt_waits_for",
}


def passed_tests(report: Path) -> dict[str, set[str]]:
    """``class -> names of the tests that passed`` from a junit XML report."""
    passed: dict[str, set[str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        if not any(child.tag in ("failure", "error", "skipped") for child in case):
            passed.setdefault(case.get("classname").rsplit(".", 1)[-1], set()).add(case.get("name"))
    return passed


def test_a_new_kinds_distribution_installs_and_passes_its_own_conformance_tests_unchanged(tmp_path, wheelhouse):
    # given a brand-new environment with matterstack-core only, as a plugin author starts
    environment = Venv(tmp_path / "venv")
    venv.EnvBuilder(with_pip=True).create(environment.path)
    environment.pip("install", "--no-index", "--find-links", str(wheelhouse), "matterstack-core")

    # when the author writes the kind's distribution, installs it with its tests' extra and runs them
    written = run([str(environment.bin / "matterstack"), "plugin", "new", "telescope"], cwd=tmp_path)
    folder = tmp_path / "matterstack-ops-telescope"
    environment.pip("install", "--no-index", "--find-links", str(wheelhouse), "-e", f"{folder}[test]")
    tests = subprocess.run([str(environment.bin / "python"), "-m", "pytest", "-p", "no:cacheprovider",
                            "--basetemp", str(tmp_path / "pytest-tmp"), "--junitxml", str(tmp_path / "report.xml")],
                           cwd=folder, capture_output=True, text=True, env=clean_env(), timeout=900)
    settings = environment.run("matterstack", "plugins", "--settings", "telescope")

    # then it passed every test it came with, and its README shows the installed kind's settings table
    assert written.returncode == 0, written.stderr
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert passed_tests(tmp_path / "report.xml") == {"TestTelescopeConformance": CONFORMANCE_TESTS,
                                                     "test_readme": {"test_the_readme_shows_the_settings_table_of_the_installed_kind"}}
    heading, table = settings.stdout.split("\n\n", 1)
    assert heading == "### kind `telescope` (matterstack-ops-telescope)"
    assert table in (folder / "README.md").read_text()


def test_plugin_new_lists_what_it_wrote_and_says_how_to_test_it(tmp_path, matterstack_command):
    result = run([*matterstack_command, "plugin", "new", "tele_scope", "--dir", "kind"], cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    written = [line.removeprefix("wrote ") for line in result.stdout.splitlines() if line.startswith("wrote ")]
    assert sorted(written) == sorted(
        f"kind/{name}" for name in ("pyproject.toml", "README.md", "tests/test_conformance.py", "tests/test_readme.py",
                                    "src/matterstack_ops_tele_scope/__init__.py",
                                    "src/matterstack_ops_tele_scope/register.py",
                                    "src/matterstack_ops_tele_scope/operator.py"))
    assert 'tele_scope = "matterstack_ops_tele_scope.register"' in (tmp_path / "kind" / "pyproject.toml").read_text()
    assert 'name = "matterstack-ops-tele-scope"' in (tmp_path / "kind" / "pyproject.toml").read_text()
    assert "class TeleScopeSettings" in (tmp_path / "kind" / "src/matterstack_ops_tele_scope/register.py").read_text()
    assert result.stdout.splitlines()[-1] == "next: pip install -e 'kind[test]' && (cd kind && python -m pytest)"
    imported = {module for path in (tmp_path / "kind").rglob("*.py")
                for module in re.findall(r"^(?:from|import) (matterstack\S*)", path.read_text(), re.MULTILINE)}
    assert imported == {"matterstack.plugins", "matterstack.testing"}, "only the public API for plugin authors"


@pytest.mark.parametrize("kind, message", [
    ("Tele-scope", "Error: plugin new Tele-scope: 'Tele-scope' is not a kind name (fix: use lowercase letters"),
    ("local", "Error: plugin new local: operator kind 'local' is already provided by matterstack-core (fix: choose"),
    ("taken", "Error: plugin new taken: matterstack-ops-taken already exists and is not an empty folder (fix: name"),
], ids=["not-a-name", "installed-kind", "folder-with-files"])
def test_plugin_new_refuses_in_one_line_what_it_cannot_write(tmp_path, matterstack_command, kind, message):
    (tmp_path / "matterstack-ops-taken").mkdir()
    (tmp_path / "matterstack-ops-taken" / "notes.txt").write_text("mine\n")

    result = run([*matterstack_command, "plugin", "new", kind], cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["matterstack-ops-taken"]
