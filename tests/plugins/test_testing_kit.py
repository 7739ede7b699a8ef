"""The conformance kit as a plugin's suite uses it: a plain pytest run in a subprocess, with no
conftest, finds the kit's fixtures through matterstack-core's ``pytest11`` entry point; and
the kit's tests fail for a kind that breaks any one of its promises (a kind installed through
the ``matterstack`` entry-point group, each instance with one flaw)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

from installs import clean_env

CONFORMANCE_TESTS = (
    "test_attempts_polled_together_end_completed_or_failed_with_their_results",
    "test_submitting_one_token_twice_starts_one_execution",
    "test_reconcile_finds_an_attempt_submitted_by_a_process_killed_before_it_could_record_it",
    "test_cancel_stops_a_long_attempt_and_it_ends_cancelled",
    "test_invalid_settings_are_refused_with_one_line_naming_the_key_path",
    "test_an_unreachable_system_never_fails_the_attempt[fake-unreachable]",
    "test_a_tick_during_an_outage_keeps_the_attempt_active_and_explain_shows_it[fake-unreachable]",
    "test_describe_wait_says_in_a_sentence_what_an_active_attempt_waits_for",
)

MINIMAL_SUITE = '''
from matterstack.testing import OperatorConformance


class TestLocalConformance(OperatorConformance):
    operator_key = "local.default"
    invalid_settings = [({"max_concurrent": "many"}, "max_concurrent")]

    def operator_settings(self, tmp_path):
        return {"max_concurrent": 4}
'''

BROKEN_KIND = '''
import subprocess
from pathlib import Path

import attrs

from matterstack.core.status import AttemptStatus
from matterstack.operators.local import LocalOperator
from matterstack.plugins import Observation, hookimpl, setting


@attrs.frozen
class BrokenSettings:
    flaw: str = setting("none", help="the one promise this instance breaks")
    outage_flag: str | None = setting(None, help="while this file exists the system is down")


class BrokenOperator(LocalOperator):
    def submit(self, attempt):
        marker = attempt.attempt_dir / "submitted-before"
        if self.settings.flaw == "runs-twice" and marker.exists():
            subprocess.run(["/bin/sh", "-c", attempt.task.command], cwd=attempt.attempt_dir, check=True)
        marker.write_text("")
        return super().submit(attempt)

    def poll(self, attempts):
        flag = self.settings.outage_flag
        if self.settings.flaw == "fails-during-outages" and flag and Path(flag).exists():
            return {a.attempt_id: Observation(AttemptStatus.FAILED, reason="connection refused") for a in attempts}
        return super().poll(attempts)

    def reconcile(self, attempts):
        if self.settings.flaw == "forgets-submissions":
            return {a.attempt_id: None for a in attempts}
        return super().reconcile(attempts)

    def cancel(self, attempt):
        if self.settings.flaw == "cancel-only-marks":
            (attempt.attempt_dir / ".matterstack-cancel").write_text("")
            return
        super().cancel(attempt)

    def collect(self, attempt):
        result = super().collect(attempt)
        if self.settings.flaw == "wrong-sha256":
            return attrs.evolve(result, sha256={name: "0" * 64 for name in result.sha256})
        return result

    def describe_wait(self, attempt):
        return "" if self.settings.flaw == "silent" else super().describe_wait(attempt)


@hookimpl
def matterstack_operator_kinds(register):
    register("broken", BrokenOperator, settings=BrokenSettings)
'''

BROKEN_SUITE = '''
import contextlib

from matterstack.testing import OperatorConformance


class Broken(OperatorConformance):
    operator_key = "broken.default"
    flaw = "none"
    timeout = 8

    def operator_settings(self, tmp_path):
        return {"flaw": self.flaw, "outage_flag": str(tmp_path / "down")}


class TestControl(Broken):
    pass


class TestRunsTwice(Broken):
    flaw = "runs-twice"


class TestForgetsSubmissions(Broken):
    flaw = "forgets-submissions"


class TestCancelOnlyMarks(Broken):
    flaw = "cancel-only-marks"


class TestWrongSha256(Broken):
    flaw = "wrong-sha256"


class TestSilent(Broken):
    flaw = "silent"


class TestAcceptsWhatItCallsInvalid(Broken):
    invalid_settings = [({"flaw": "any"}, "flaw")]


class TestFailsDuringOutages(Broken):
    flaw = "fails-during-outages"
    outage_name = "fake-unreachable"

    @contextlib.contextmanager
    def unavailable(self, operator):
        flag = operator.settings.outage_flag
        open(flag, "w").close()
        yield operator
        __import__("os").remove(flag)
'''

BROKEN_PROMISES = {
    "TestRunsTwice": {"test_submitting_one_token_twice_starts_one_execution"},
    "TestForgetsSubmissions": {"test_reconcile_finds_an_attempt_submitted_by_a_process_killed_before_it_could_record_it"},
    "TestCancelOnlyMarks": {"test_cancel_stops_a_long_attempt_and_it_ends_cancelled"},
    "TestWrongSha256": {"test_attempts_polled_together_end_completed_or_failed_with_their_results"},
    "TestSilent": {"test_describe_wait_says_in_a_sentence_what_an_active_attempt_waits_for"},
    "TestAcceptsWhatItCallsInvalid": {"test_invalid_settings_are_refused_with_one_line_naming_the_key_path"},
    "TestFailsDuringOutages": {
        "test_an_unreachable_system_never_fails_the_attempt[fake-unreachable]",
        "test_a_tick_during_an_outage_keeps_the_attempt_active_and_explain_shows_it[fake-unreachable]",
    },
}


def pytest_run(folder: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """A plain ``python -m pytest`` in ``folder`` (its own rootdir: an empty pytest.ini), its
    temporary folders (where the kit's jobs run) inside ``folder``."""
    (folder / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--basetemp", str(folder / "tmp"),
                           *args], cwd=folder,
                          capture_output=True, text=True, env=env or clean_env(), timeout=900)


def outcomes(report: Path) -> dict[tuple[str, str], str]:
    """``(class, test) -> passed|failure|error|skipped`` from a junit XML report."""
    found = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        verdicts = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        found[(case.get("classname").rsplit(".", 1)[-1], case.get("name"))] = verdicts[0] if verdicts else "passed"
    return found


def stop_processes_left_in(folder: Path) -> None:
    """End the jobs a flawed cancel left running (processes whose folder is under ``folder``)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd.is_relative_to(folder):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_plain_pytest_run_gets_the_kit_from_its_pytest11_entry_point(tmp_path):
    (tmp_path / "test_minimal.py").write_text(textwrap.dedent(MINIMAL_SUITE))

    run = pytest_run(tmp_path, "-rA", "--junitxml", str(tmp_path / "report.xml"))
    without = pytest_run(tmp_path, "-p", "no:matterstack", "-q")

    assert run.returncode == 0, run.stdout + run.stderr
    assert not (tmp_path / "conftest.py").exists()
    plugins_line = next(line for line in run.stdout.splitlines() if line.startswith("plugins:"))
    assert "matterstack-core" in plugins_line, plugins_line
    assert outcomes(tmp_path / "report.xml") == {("TestLocalConformance", name): "passed" for name in CONFORMANCE_TESTS}
    assert without.returncode != 0 and "fixture 'matterstack_harness' not found" in without.stdout


def test_each_conformance_test_fails_a_kind_that_breaks_its_promise(tmp_path, plugin_path):
    plugin_path.add("matterstack-broken-kind", "0.1", {"broken": "brokenkind"}, {"brokenkind": BROKEN_KIND})
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_broken.py").write_text(textwrap.dedent(BROKEN_SUITE))
    chosen = ["test_broken.py::TestControl"] + [f"test_broken.py::{cls}::{test}"
                                                 for cls, tests in BROKEN_PROMISES.items() for test in tests]

    try:
        run = pytest_run(suite, "-q", "--junitxml", str(suite / "report.xml"), *chosen, env=plugin_path.env())
    finally:
        stop_processes_left_in(suite)
    seen = outcomes(suite / "report.xml")

    assert run.returncode == 1, run.stdout + run.stderr
    assert {test: seen[("TestControl", test)] for test in CONFORMANCE_TESTS} == dict.fromkeys(CONFORMANCE_TESTS, "passed")
    assert {(cls, test): verdict for (cls, test), verdict in seen.items() if cls != "TestControl"} == {
        (cls, test): "failure" for cls, tests in BROKEN_PROMISES.items() for test in tests}


NEEDY_KIND = '''
import attrs

from matterstack.operators.local import LocalOperator
from matterstack.plugins import hookimpl, setting


@attrs.frozen
class NeedySettings:
    site: str = setting(help="where the work runs; required")
    max_concurrent: int | None = setting(None, help="most attempts at once")


class NeedyOperator(LocalOperator):
    pass


@hookimpl
def matterstack_operator_kinds(register):
    register("needy", NeedyOperator, settings=NeedySettings)
'''

OVERRIDES_SUITE = '''
import contextlib

from matterstack.errors import TransientOperatorError
from matterstack.testing import REMOVE, OperatorConformance


class Needy(OperatorConformance):
    operator_key = "needy.default"

    def operator_settings(self, tmp_path):
        return {"site": "lab", "max_concurrent": 2}


class TestOverridesOfTheValidSettings(Needy):
    invalid_settings = [
        ({"site": REMOVE}, "operators.needy.default.site: required key is missing"),
        ({"max_concurrent": "many"}, "operators.needy.default.max_concurrent: expected an integer, found a string"),
    ]


class TestAnOverrideThatLeavesTheSettingsValid(Needy):
    invalid_settings = [({"max_concurrent": 3}, "max_concurrent")]


class TestTheHarnessOutageIsTheKitsFake(Needy):
    def test_harness_unavailable_yields_an_operator_whose_calls_are_transient_errors(self, matterstack_harness):
        operator = matterstack_harness.new_operator()
        attempt = matterstack_harness.attempt("succeed")
        with matterstack_harness.unavailable(operator) as down:
            try:
                down.poll([attempt])
            except TransientOperatorError as error:
                assert "cannot be reached" in str(error)
            else:
                raise AssertionError("the fake outage answered a poll")


class TestTheHarnessOutageIsTheClasses(Needy):
    @contextlib.contextmanager
    def unavailable(self, operator):
        self.events = ["down"]
        yield operator
        self.events.append("up")

    def test_harness_unavailable_opens_and_closes_the_classes_outage(self, matterstack_harness):
        operator = matterstack_harness.new_operator()
        with matterstack_harness.unavailable(operator) as down:
            assert down is operator and self.events == ["down"]
        assert self.events == ["down", "up"]
'''


def test_invalid_settings_override_the_valid_settings_and_the_harness_opens_the_classes_outage(tmp_path, plugin_path):
    plugin_path.add("matterstack-needy-kind", "0.1", {"needy": "needykind"}, {"needykind": NEEDY_KIND})
    (tmp_path / "test_needy.py").write_text(textwrap.dedent(OVERRIDES_SUITE))
    invalid = "test_invalid_settings_are_refused_with_one_line_naming_the_key_path"

    run = pytest_run(tmp_path, "-q", "--junitxml", str(tmp_path / "report.xml"), "-k", f"{invalid} or harness_unavailable",
                     env=plugin_path.env())

    assert outcomes(tmp_path / "report.xml") == {
        ("TestOverridesOfTheValidSettings", invalid): "passed",
        ("TestAnOverrideThatLeavesTheSettingsValid", invalid): "failure",
        ("TestTheHarnessOutageIsTheKitsFake", invalid): "passed",
        ("TestTheHarnessOutageIsTheClasses", invalid): "passed",
        ("TestTheHarnessOutageIsTheKitsFake",
         "test_harness_unavailable_yields_an_operator_whose_calls_are_transient_errors"): "passed",
        ("TestTheHarnessOutageIsTheClasses", "test_harness_unavailable_opens_and_closes_the_classes_outage"): "passed",
    }, run.stdout + run.stderr
