"""Every MatterStackError reaches a person as one line with its exit code; --debug adds the traceback."""

from __future__ import annotations

from installs import run


def test_bad_input_is_one_line_on_stderr_and_exit_2(matterstack_command, greeter):
    result = run([*matterstack_command, "fail-config"], env=greeter.env())

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "Error: operators.yaml: operators.hpc.dev.backend.partition: expected a string, found a list "
        "(fix: write partition: normal)\n"
    )


def test_a_locked_run_exits_3(matterstack_command, greeter):
    result = run([*matterstack_command, "fail-locked"], env=greeter.env())

    assert result.returncode == 3
    assert result.stderr == "Error: run r1 is being stepped by another process\n"


def test_debug_shows_the_traceback_then_the_one_line(matterstack_command, greeter):
    result = run([*matterstack_command, "--debug", "fail-config"], env=greeter.env())

    assert result.returncode == 2
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert 'raise ConfigError("expected a string' in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: operators.yaml: ")


def test_strict_plugins_turns_a_broken_plugin_into_exit_2(matterstack_command, broken):
    result = run([*matterstack_command, "plugins"], env=broken.env(MATTERSTACK_STRICT_PLUGINS="1"))

    assert result.returncode == 2
    assert result.stderr == (
        "Error: matterstack-test-broken 0.1: entry point 'broken = broken_register' failed to load: "
        "RuntimeError: the lab driver is missing (fix: fix or uninstall matterstack-test-broken; "
        "`matterstack --debug plugins` shows the traceback)\n"
    )


def test_strict_plugins_with_debug_shows_the_plugins_own_traceback(matterstack_command, broken):
    result = run([*matterstack_command, "--debug", "plugins"], env=broken.env(MATTERSTACK_STRICT_PLUGINS="1"))

    assert result.returncode == 2
    assert 'raise RuntimeError("the lab driver is missing")' in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: matterstack-test-broken 0.1")


def test_a_usage_mistake_is_not_a_traceback(matterstack_command):
    result = run([*matterstack_command, "no-such-command"])

    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "no-such-command" in result.stderr


def test_a_misspelt_command_is_answered_with_the_nearest_name(matterstack_command):
    result = run([*matterstack_command, "--debug", "stauts", "r1"])

    assert result.returncode == 2
    assert "No such command 'stauts'. Did you mean 'status'?" in result.stderr


def test_a_broken_plugin_never_keeps_status_from_answering_but_strict_plugins_still_refuses_it(
        matterstack_command, broken, idle_workspace):
    # given: a run, and a plugin distribution that fails to import
    where = ["--workspaces-root", str(idle_workspace.parent)]
    run_id = run([*matterstack_command, "init", idle_workspace.name, *where], env=broken.env()).stdout.split()[1]

    # when
    status = run([*matterstack_command, "status", run_id, *where], env=broken.env())
    strict = run([*matterstack_command, "status", run_id, *where], env=broken.env(MATTERSTACK_STRICT_PLUGINS="1"))

    # then: status needs no plugin; with the switch on, every command checks them all
    assert status.returncode == 0 and status.stdout.startswith(f"Run {run_id}: PENDING")
    assert strict.returncode == 2
    assert strict.stderr.startswith("Error: matterstack-test-broken 0.1: entry point 'broken = broken_register' "
                                    "failed to load: RuntimeError: the lab driver is missing")
