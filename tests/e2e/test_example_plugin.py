"""The example plugin distributions of examples/, pip-installed into brand-new virtual
environments offline from the wheelhouse, driven through the installed ``matterstack``
command: entry points are found, a campaign runs on the third-party kind, uninstalling
removes it, an observer sees every transition and a failing one breaks nothing, two
distributions claiming one kind collide by name, and the example's own conformance tests
pass where it is installed (the kit's ``pytest11`` plugin works for a third party)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from e2e_kit import EXAMPLES, assert_one_line_error, ok, read_db
from installs import clean_env, plugin_source_tree, run

SHELL = EXAMPLES / "matterstack-ops-shell"
OBSERVER = EXAMPLES / "matterstack-observer-jsonl"
SHELL_LABEL = "matterstack-ops-shell 0.1.0"
MISSING_KIND = "operator kind 'shell' is not provided by any installed distribution"

RIVAL_MODULE = """
    from matterstack.plugins import LazyFactory, hookimpl


    @hookimpl
    def matterstack_operator_kinds(register):
        register("shell", LazyFactory("matterstack_shell_rival.operator:RivalShellOperator"))
"""

BROKEN_OBSERVER_MODULE = """
    from matterstack.plugins import hookimpl


    @hookimpl
    def matterstack_attempt_transition(event):
        raise RuntimeError(f"the metrics server is down ({event.task_id} to {event.to_status.value})")
"""


def install(venv, wheelhouse: Path, *sources: Path) -> None:
    venv.pip("install", "--no-index", "--find-links", str(wheelhouse), *map(str, sources))


def matterstack(venv, *args: str, cwd: Path, **env: str):
    return run([str(venv.bin / "matterstack"), *args], cwd=cwd, env=clean_env(**env))


def plugins_report(venv, cwd: Path) -> dict:
    return json.loads(ok(matterstack(venv, "plugins", "--json", cwd=cwd)).stdout)


def demo_copy(tmp_path: Path) -> Path:
    """The example's demo campaign and its operators.yaml (the ones docs/writing-a-plugin.md shows)."""
    return Path(shutil.copytree(SHELL / "demo", tmp_path / "demo"))


def run_demo(venv, demo: Path, **env: str):
    return matterstack(venv, "run", str(demo), "--operators-config", str(demo / "operators.yaml"),
                       "--interval", "0.05", cwd=demo, **env)


def run_id_of(result) -> str:
    return re.search(r"^Run (\S+)", result.stdout, re.MULTILINE).group(1)


def events_of(demo: Path, run_id: str) -> list[dict]:
    """The run's attempt event log, from its database, as the observer writes each event."""
    with read_db(demo / "runs" / run_id / "state.sqlite") as db:
        rows = db.execute("SELECT * FROM attempt_events ORDER BY id").fetchall()
    return [{"attempt": r["attempt_id"], "task": r["task_id"], "run": r["run_id"], "from": r["from_status"],
             "to": r["to_status"], "reason": r["reason"], "time": r["at"]} for r in rows]


def test_the_example_plugin_installs_runs_a_campaign_and_uninstalls_without_a_trace(fresh_venv, wheelhouse, tmp_path):
    # given matterstack-ops-shell installed from its folder
    install(fresh_venv, wheelhouse, SHELL)
    demo = demo_copy(tmp_path)

    # when the plugins are listed and the demo runs wired to shell.default
    report = plugins_report(fresh_venv, demo)
    check = matterstack(fresh_venv, "operators", "check", "operators.yaml", cwd=demo)
    result = run_demo(fresh_venv, demo)

    # then the entry point is found, the run completes on shell.default, attempts says so
    (shell,) = [p for p in report["plugins"] if p["distribution"] == "matterstack-ops-shell"]
    assert (shell["version"], shell["operator_kinds"]) == ("0.1.0", ["shell"])
    assert shell["entry_point"] == "shell = matterstack_ops_shell.register"
    assert report["problems"] == []
    assert ok(check).stdout.startswith("operators.yaml: valid, 1 instance(s); default operator shell.default")
    run_id = run_id_of(ok(result))
    assert f"Run {run_id} COMPLETED" in result.stdout
    attempts = ok(matterstack(fresh_venv, "attempts", run_id, "greet", cwd=demo)).stdout
    assert "COMPLETED" in attempts and "shell.default" in attempts
    state = json.loads((demo / "runs" / run_id / "campaign_state.json").read_text())
    assert state == {"count": ["count.txt", "exit_code", "stderr.log", "stdout.log"],
                     "greet": ["exit_code", "greeting.txt", "stderr.log", "stdout.log"]}
    (greeting,) = (demo / "runs" / run_id / "tasks" / "greet" / "attempts").glob("*/greeting.txt")
    assert greeting.read_text() == "hello from /bin/sh\n"

    # when it is uninstalled
    fresh_venv.pip("uninstall", "-y", "matterstack-ops-shell")
    after = plugins_report(fresh_venv, demo)
    refused = run_demo(fresh_venv, demo)

    # then nothing of it is listed and routing to shell.default fails in one line
    assert "matterstack-ops-shell" not in json.dumps(after)
    assert "shell" not in {kind for p in after["plugins"] for kind in p["operator_kinds"]}
    assert_one_line_error(refused, MISSING_KIND, "operators.shell.default.kind")


def test_the_example_observer_records_every_transition_and_a_failing_observer_breaks_nothing(
        fresh_venv, wheelhouse, tmp_path):
    # given the shell kind, the JSON-lines observer, and an observer that always raises
    broken = plugin_source_tree(tmp_path / "broken-src", name="matterstack-observer-broken", version="0.1",
                                package="matterstack_observer_broken",
                                entry_point='broken = "matterstack_observer_broken"',
                                modules={"__init__.py": BROKEN_OBSERVER_MODULE})
    install(fresh_venv, wheelhouse, SHELL, OBSERVER, broken)
    demo = demo_copy(tmp_path)
    events_file = tmp_path / "events" / "events.jsonl"

    # when the demo runs
    result = run_demo(fresh_venv, demo, MATTERSTACK_EVENTS_FILE=str(events_file))

    # then it completes, the file holds every recorded transition in order, creations included
    run_id = run_id_of(ok(result))
    assert f"Run {run_id} COMPLETED" in result.stdout
    recorded = events_of(demo, run_id)
    written = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert written == recorded
    greet = [(e["from"], e["to"]) for e in written if e["task"] == "greet"]
    # (a tick that polls while the one-line job still runs sees it RUNNING on the way)
    assert greet in ([(None, "CREATED"), ("CREATED", "SUBMITTED"), ("SUBMITTED", "COMPLETED")],
                     [(None, "CREATED"), ("CREATED", "SUBMITTED"), ("SUBMITTED", "RUNNING"), ("RUNNING", "COMPLETED")])
    # and the failing observer is reported once per failure, one line each, naming it
    warnings = [line for line in result.stderr.splitlines() if "observer of matterstack-observer-broken 0.1" in line]
    assert len(warnings) == len(recorded)
    assert all(w.startswith("Warning: attempt-transition observer of matterstack-observer-broken 0.1 failed: "
                            "RuntimeError: the metrics server is down") for w in warnings)
    assert "Traceback" not in result.stderr


def test_two_distributions_claiming_kind_shell_collide_by_name_and_neither_wins(fresh_venv, wheelhouse, tmp_path):
    # given the example and a second distribution registering the same kind
    rival = plugin_source_tree(tmp_path / "rival-src", name="matterstack-shell-rival", version="2.0",
                               package="matterstack_shell_rival", entry_point='shell = "matterstack_shell_rival"',
                               modules={"__init__.py": RIVAL_MODULE})
    install(fresh_venv, wheelhouse, SHELL, rival)
    demo = demo_copy(tmp_path)

    # when the plugins are listed and the demo is routed to shell.default
    report = plugins_report(fresh_venv, demo)
    refused = run_demo(fresh_venv, demo)
    chosen = run_demo(fresh_venv, demo, MATTERSTACK_LOAD_PLUGINS="matterstack-ops-shell")

    # then the collision names both distributions and versions, and using the kind fails naming both
    (collision,) = [p for p in report["problems"] if p["kind"] == "collision"]
    assert "operator kind 'shell'" in collision["message"]
    assert SHELL_LABEL in collision["message"] and "matterstack-shell-rival 2.0" in collision["message"]
    assert {(d["distribution"], d["version"]) for d in collision["distributions"]} == {
        ("matterstack-ops-shell", "0.1.0"), ("matterstack-shell-rival", "2.0")}
    assert_one_line_error(refused, "operator kind 'shell' is registered by more than one distribution",
                          SHELL_LABEL, "matterstack-shell-rival 2.0")
    # and choosing one distribution with MATTERSTACK_LOAD_PLUGINS runs the campaign on it
    assert f"Run {run_id_of(ok(chosen))} COMPLETED" in chosen.stdout


def test_the_example_conformance_tests_pass_where_the_example_is_installed(fresh_venv, wheelhouse, tmp_path):
    # given the example and pytest installed, and a copy of the example's tests outside the repository
    install(fresh_venv, wheelhouse, SHELL)
    fresh_venv.pip("install", "--no-index", "--find-links", str(wheelhouse), "pytest")
    project = tmp_path / "project"
    shutil.copytree(SHELL / "tests", project / "tests")

    # when its suite runs as the plugin author runs it
    result = run([str(fresh_venv.bin / "python"), "-m", "pytest", "tests", "-p", "no:cacheprovider",
                  "--basetemp", str(tmp_path / "basetemp"), "-rA"], cwd=project)

    # then every inherited conformance test runs and passes, none skipped
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    summary = output.strip().splitlines()[-1]
    assert re.fullmatch(r"=+ \d+ passed in [\d.]+s( \([\d:]+\))? =+", summary), summary
    passed = re.findall(r"^PASSED \S+::(\w+)::(\w+)", output, re.MULTILINE)
    assert ("TestShellConformance", "test_submitting_one_token_twice_starts_one_execution") in passed
    assert ("TestShellConformance", "test_cancel_stops_a_long_attempt_and_it_ends_cancelled") in passed
