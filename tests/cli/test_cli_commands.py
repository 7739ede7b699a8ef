"""The ``matterstack`` command as a user runs it: --version, plugins, self-test, plugin commands."""

from __future__ import annotations

import json
import sys

from installs import clean_env, run

FIRST_PARTY = ("matterstack-ops-experiment", "matterstack-ops-human", "matterstack-ops-slurm")


def by_distribution(report: dict) -> dict:
    return {p["distribution"]: p for p in report["plugins"]}


def test_version_lists_core_and_every_plugin_distribution(matterstack_command, greeter):
    result = run([*matterstack_command, "--version"], env=greeter.env())

    lines = result.stdout.splitlines()
    assert result.returncode == 0
    assert lines[0].startswith("matterstack-core 0.")
    assert {line.split()[0] for line in lines[1:]} == {*FIRST_PARTY, "matterstack-test-greeter"}
    assert "matterstack-test-greeter 1.0" in lines


def test_plugins_json_lists_the_four_distributions_and_what_each_provides(matterstack_command):
    result = run([*matterstack_command, "plugins", "--json"])

    report = json.loads(result.stdout)
    plugins = by_distribution(report)
    assert result.returncode == 0 and report["problems"] == []
    assert set(plugins) == {"matterstack-core", *FIRST_PARTY}
    assert plugins["matterstack-core"]["operator_kinds"] == ["hpc", "local"]
    assert plugins["matterstack-core"]["compute_backends"] == ["local", "profile"]
    assert plugins["matterstack-core"]["entry_point"] is None
    assert plugins["matterstack-ops-slurm"]["compute_backends"] == ["hpc_yaml", "slurm"]
    assert plugins["matterstack-ops-slurm"]["entry_point"] == "slurm = matterstack_ops_slurm.register"
    assert plugins["matterstack-ops-human"]["operator_kinds"] == ["human", "manual_hpc"]
    assert plugins["matterstack-ops-experiment"]["operator_kinds"] == ["experiment"]


def test_plugins_table_has_one_row_per_plugin(matterstack_command):
    result = run([*matterstack_command, "plugins"])

    lines = result.stdout.splitlines()
    assert lines[0].split() == ["DISTRIBUTION", "VERSION", "ENTRY", "POINT", "PROVIDES"]
    assert lines[1].startswith("matterstack-core ") and "kinds: hpc, local; backends: local, profile" in lines[1]
    assert any(line.startswith("matterstack-ops-slurm ") and "backends: hpc_yaml, slurm" in line for line in lines)


def test_plugins_settings_prints_the_table_of_every_installed_kind_and_backend(matterstack_command):
    result = run([*matterstack_command, "plugins", "--settings"])

    headings = [line for line in result.stdout.splitlines() if line.startswith("### ")]
    assert result.returncode == 0
    assert "### kind `hpc` (matterstack-core)" in headings and "### backend `slurm` (matterstack-ops-slurm)" in headings
    assert "| `workspace_root` | string | required | remote folder under which job work directories are made |" \
        in result.stdout


def test_plugins_settings_of_one_name_prints_its_kind_and_its_backend(matterstack_command):
    result = run([*matterstack_command, "plugins", "--settings", "local"])

    assert result.returncode == 0
    assert [line for line in result.stdout.splitlines() if line.startswith("### ")] == [
        "### kind `local` (matterstack-core)", "### backend `local` (matterstack-core)"]


def test_plugins_settings_of_a_name_nothing_installed_has_names_what_is_installed(matterstack_command):
    result = run([*matterstack_command, "plugins", "--settings", "telescope"])

    assert result.returncode == 2 and result.stdout == ""
    assert "no installed operator kind or compute backend is called 'telescope'" in result.stderr
    assert "kinds (experiment, hpc, human, local, manual_hpc)" in result.stderr


def test_a_plugin_adds_commands_that_run_and_are_listed(matterstack_command, greeter):
    env = greeter.env()

    assert run([*matterstack_command, "greet", "--name", "lab"], env=env).stdout == "hello lab\n"
    assert "greet" in run([*matterstack_command, "--help"], env=env).stdout
    plugin = by_distribution(json.loads(run([*matterstack_command, "plugins", "--json"], env=env).stdout))["matterstack-test-greeter"]
    assert plugin["commands"] == ["greet", "fail-config", "fail-locked"] and plugin["operator_kinds"] == ["greeter"]


def test_a_broken_plugin_is_listed_as_a_problem_and_everything_else_works(matterstack_command, broken):
    table = run([*matterstack_command, "plugins"], env=broken.env())
    report = json.loads(run([*matterstack_command, "plugins", "--json"], env=broken.env()).stdout)

    assert table.returncode == 0
    assert "1 problem(s):" in table.stdout
    assert "load: matterstack-test-broken 0.1: entry point 'broken = broken_register' failed to load" in table.stdout
    assert "Traceback" not in table.stdout
    (problem,) = report["problems"]
    assert problem["distributions"] == [
        {"distribution": "matterstack-test-broken", "version": "0.1", "entry_point": "broken = broken_register"}
    ]
    assert set(by_distribution(report)) == {"matterstack-core", *FIRST_PARTY}


def test_plugins_with_debug_shows_each_problems_traceback(matterstack_command, broken):
    result = run([*matterstack_command, "--debug", "plugins"], env=broken.env())

    assert 'raise RuntimeError("the lab driver is missing")' in result.stdout


def test_load_plugins_empty_leaves_only_core(matterstack_command):
    result = run([*matterstack_command, "plugins", "--json"], env=clean_env(MATTERSTACK_LOAD_PLUGINS=""))

    assert set(by_distribution(json.loads(result.stdout))) == {"matterstack-core"}


def test_trace_plugins_prints_every_hook_call(matterstack_command, greeter):
    result = run([*matterstack_command, "plugins"], env=greeter.env(MATTERSTACK_TRACE_PLUGINS="1"))

    assert "[matterstack trace] matterstack_cli(app=<typer" in result.stderr
    assert "-> [matterstack-test-greeter:greeter]" in result.stderr
    assert "[matterstack trace] matterstack_compute_backends returned []" in result.stderr
    assert result.returncode == 0


def test_self_test_passes_on_this_installation(matterstack_command):
    result = run([*matterstack_command, "self-test"])

    assert result.returncode == 0, result.stdout
    statuses = [line.split()[0] for line in result.stdout.splitlines()]
    assert statuses and set(statuses) == {"ok"}
    assert "state store round trip" in result.stdout


def test_self_test_warns_about_a_broken_plugin_but_passes(matterstack_command, broken):
    result = run([*matterstack_command, "self-test"], env=broken.env())

    assert result.returncode == 0
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warn")]
    assert len(warnings) == 1 and "matterstack-test-broken 0.1" in warnings[0]


def test_python_dash_m_matterstack_is_the_same_command():
    result = run([sys.executable, "-m", "matterstack", "--version"])

    assert result.returncode == 0 and result.stdout.startswith("matterstack-core ")


def test_python_dash_m_matterstack_cli_main_the_0_2_x_module_path_is_the_same_command(matterstack_command):
    # given the command as 0.2.x scripts call it, and as installed
    old_path = [sys.executable, "-m", "matterstack.cli.main"]

    # when
    versions = run([*old_path, "--version"])
    listing = run([*old_path, "--help"])
    bad = run([*old_path, "attempts", "no-such-run", "t", "--format", "xml"])

    # then it is the same program, errors included
    assert versions.returncode == 0 and versions.stdout == run([*matterstack_command, "--version"]).stdout
    assert "reset-run" in listing.stdout and "cleanup-orphans" in listing.stdout
    assert bad.returncode == 2 and bad.stderr == "Error: attempts --format: unknown format 'xml' (fix: use one of text, json, tsv)\n"
