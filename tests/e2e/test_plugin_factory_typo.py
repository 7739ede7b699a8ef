"""A plugin whose ``LazyFactory`` target is misspelt (issue 16, defect 15) is a plugin problem
as soon as it is loaded: ``plugins`` shows it, strict mode refuses it, ``operators check``
names the instance; a run's attempts on it fail once with the reason instead of waiting for
ever, and ``cancel`` ends a run whose attempts such an instance holds."""

from __future__ import annotations

import textwrap

import pytest

from e2e_kit import Project, assert_one_line_error, kill_jobs, ok

OPERATOR_MODULE = """
    from matterstack.core.status import AttemptStatus
    from matterstack.plugins import LazyFactory, hookimpl
    from matterstack.plugins.interfaces import CollectResult, Operator, SubmitResult


    class WaitingOperator(Operator):
        \"\"\"Hands each attempt to someone who never answers.\"\"\"

        def prepare(self, attempt):
            pass

        def submit(self, attempt):
            return SubmitResult(external_id=f"ticket-{attempt.attempt_id}", status=AttemptStatus.WAITING_EXTERNAL)

        def poll(self, attempts):
            return {}

        def reconcile(self, attempts):
            return {a.attempt_id: None for a in attempts}

        def collect(self, attempt):
            return CollectResult(files={}, data={}, sha256={})

        def cancel(self, attempt):
            pass

        def describe_wait(self, attempt):
            return "waiting"


    @hookimpl
    def matterstack_operator_kinds(register):
        register("waiting", LazyFactory("waiting_ops:{target}"))
"""

ON_WAITING = """
    from matterstack import Campaign, Task, Workflow

    class OnWaiting(Campaign):
        def plan(self, state):
            if state is not None:
                return None
            return Workflow([Task(task_id="ask", command="true", operator_key="waiting.default")])

        def analyze(self, state, results):
            return {"done": sorted(results)}

    def get_campaign():
        return OnWaiting()
"""

TYPO = "WaitingOperatr"
PROBLEM = "factory target 'waiting_ops:WaitingOperatr': module 'waiting_ops' has no 'WaitingOperatr'"


def install(plugin_path, target: str) -> None:
    """(Re)install the ``waiting-ops`` distribution with its factory pointing at ``target``."""
    for old in plugin_path.folder.glob("waiting_ops*"):
        if old.is_dir():
            for file in old.iterdir():
                file.unlink()
            old.rmdir()
        else:
            old.unlink()
    plugin_path.add("waiting-ops", "1.0", {"waiting": "waiting_ops"},
                    {"waiting_ops": OPERATOR_MODULE.replace("{target}", target)})


@pytest.fixture
def waiting_project(tmp_path, installed_matterstack, plugin_path):
    project = Project(tmp_path / "project", installed_matterstack)
    env = plugin_path.env()
    yield project, env
    kill_jobs(project.root)


def test_a_misspelt_factory_target_is_a_plugin_problem_when_loaded(waiting_project, plugin_path):
    project, env = waiting_project
    # given a plugin whose factory names a class its module does not have
    install(plugin_path, TYPO)

    # when its plugins are listed, then the problem is shown
    listed = project.matterstack("plugins", env=env)
    assert f"registration: waiting-ops 1.0 registers operator kind 'waiting': {PROBLEM}" in listed.stdout

    # and strict mode refuses it in one line
    strict = project.matterstack("plugins", env={**env, "MATTERSTACK_STRICT_PLUGINS": "1"})
    assert_one_line_error(strict, PROBLEM, "fix: fix the factory target in waiting-ops")

    # and operators check names the instance that could never be built
    config = project.root / "operators.yaml"
    config.write_text(textwrap.dedent("""\
        operators:
          waiting.ask:
            kind: waiting
    """))
    checked = project.matterstack("operators", "check", str(config), env=env)
    assert_one_line_error(checked, "operators.waiting.ask", "waiting-ops 1.0 cannot build it", PROBLEM)


def test_attempts_on_an_instance_that_cannot_be_built_fail_once_with_the_reason(waiting_project, plugin_path):
    project, env = waiting_project
    # given a run whose task goes to an instance whose plugin cannot build it
    install(plugin_path, TYPO)
    project.add_workspace("waiting", ON_WAITING)
    run_id = ok(project.matterstack("init", "waiting", env=env)).stdout.split()[1]

    # when the run is looped
    result = project.matterstack("loop", run_id, "--interval", "0.05", "--max-ticks", "20", env=env, timeout=120)

    # then it ends FAILED after one attempt, whose reason says why
    assert result.returncode == 1, result.stdout + result.stderr
    (attempt,) = project.attempts(run_id)
    assert attempt["status"] == "FAILED_INIT"
    assert attempt["status_reason"] == f"operator waiting.default cannot be built: {TYPO_BUILD_ERROR}"
    assert project.run_status(run_id) == "FAILED"


TYPO_BUILD_ERROR = "waiting_ops:WaitingOperatr is not implemented in this version (waiting_ops has no 'WaitingOperatr')"


def test_cancel_ends_a_run_whose_attempt_is_held_by_an_instance_that_can_no_longer_be_built(
        waiting_project, plugin_path):
    project, env = waiting_project
    # given a run with an attempt handed to a working plugin, which is then broken by an upgrade
    install(plugin_path, "WaitingOperator")
    project.add_workspace("waiting", ON_WAITING)
    run_id = ok(project.matterstack("init", "waiting", env=env)).stdout.split()[1]
    ok(project.matterstack("step", run_id, env=env))
    assert project.attempts(run_id)[0]["status"] == "WAITING_EXTERNAL"
    install(plugin_path, TYPO)

    # when the run is cancelled
    result = project.matterstack("cancel", run_id, env=env)

    # then the run ends, and the attempt says nothing could be asked to stop its work
    ok(result)
    assert project.run_status(run_id) == "CANCELLED"
    (attempt,) = project.attempts(run_id)
    assert attempt["status"] == "CANCELLED"
    assert attempt["status_reason"].startswith("run cancelled by user; operator waiting.default cannot be built (")
    assert attempt["status_reason"].endswith(f"so nothing was asked to stop ticket-{attempt['attempt_id']}")
