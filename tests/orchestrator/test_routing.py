"""Routing: which operator instance a new attempt goes to, what happens to a key nobody
configured, and to attempts whose key has left the wiring."""

from __future__ import annotations

import pytest
from lifecycle_kit import Campaignish, RunUnderTest, wiring_of

from matterstack import ExternalTask, GateTask, Task
from matterstack.core.status import AttemptStatus, RunStatus
from matterstack.orchestrator.api import build_registry
from matterstack.orchestrator.explain import explain
from matterstack.wiring.model import InstanceConfig, Wiring, embedded_default_wiring

OPERATOR = "MATTERSTACK_OPERATOR"
WIRED = ("scripted.a", "scripted.b", "scripted.site", "human.default", "experiment.default")


def test_task_naming_no_key_runs_on_local_default(start_run, bare_host):
    # given the embedded default wiring and a task that names no operator
    run = start_run(Campaignish([Task(task_id="t1", command="true")]), host_=bare_host,
                    wiring=embedded_default_wiring(bare_host))
    # when the run is ticked to the end
    status = run.tick_until_done(interval=0.02)
    # then the task ran on local.default
    assert status == RunStatus.COMPLETED
    assert run.attempt("t1").operator_key == "local.default"


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        (Task(task_id="t", operator_key="scripted.a", env={OPERATOR: "scripted.b"}), "scripted.a"),
        (Task(task_id="t", env={OPERATOR: "scripted.b"}), "scripted.b"),
        (GateTask(task_id="t", env={OPERATOR: "scripted.b"}), "scripted.b"),
        (ExternalTask(task_id="t", operator_key="scripted.a"), "scripted.a"),
        (GateTask(task_id="t", message="approve the structures"), "human.default"),
        (ExternalTask(task_id="t", request_data={"temperature": 300}), "experiment.default"),
        (Task(task_id="t"), "scripted.site"),
        (Task(task_id="t", operator_key=" Scripted.A "), "scripted.a"),
    ],
    ids=["key-beats-env", "env-beats-type", "env-beats-gate", "key-beats-external", "gate",
         "external", "site-default", "lenient-spelling"],
)
def test_routing_precedence(start_run, world, task, expected):
    # given a site wiring whose default is scripted.site
    world.default = None
    run = start_run(Campaignish([task]), *WIRED, default="scripted.site")
    # when the task is submitted
    run.tick()
    # then it went where the precedence says: key, env, task type, site default
    attempt = run.attempt("t")
    assert (attempt.operator_key, attempt.status) == (expected, AttemptStatus.SUBMITTED)
    assert world.submitted == [(expected, attempt.attempt_id)]


@pytest.mark.parametrize("where", ["operator_key", "env"])
def test_legacy_alias_hpc_routes_to_hpc_default(start_run, bare_host, where):
    # given a 0.2.x-style task asking for "HPC"
    task = Task(task_id="t1", command="true", **({"operator_key": "HPC"} if where == "operator_key"
                                               else {"env": {OPERATOR: "HPC"}}))
    run = start_run(Campaignish([task]), host_=bare_host, wiring=embedded_default_wiring(bare_host))
    # when the run is ticked to the end
    status = run.tick_until_done(interval=0.02)
    # then it ran on hpc.default (a local backend at the run directory)
    assert status == RunStatus.COMPLETED
    assert run.attempt("t1").operator_key == "hpc.default"


def test_unknown_key_fails_the_attempt_naming_key_and_configured_keys(start_run, world):
    # given a task naming an instance the site did not configure
    run = start_run(Campaignish([Task(task_id="t1", operator_key="scripted.nope")]), "scripted.a", "scripted.b")
    # when the run is ticked
    status = run.tick().status
    # then one FAILED_INIT attempt says which key, which keys exist, and how to fix it
    (attempt,) = run.attempts("t1")
    assert attempt.status == AttemptStatus.FAILED_INIT
    reason = attempt.status_reason
    assert "'scripted.nope'" in reason and "scripted.a, scripted.b" in reason
    assert "add scripted.nope to operators.yaml" in reason and "pip install" not in reason
    assert world.submitted == []
    # and the run fails naming the task
    assert status == RunStatus.FAILED and "t1" in run.run().status_reason


def test_key_of_an_uninstalled_first_party_kind_names_the_distribution(start_run, bare_host):
    # given a host without the human plugin and a gate task
    run = start_run(Campaignish([GateTask(task_id="gate", message="ok?")]), host_=bare_host,
                    wiring=embedded_default_wiring(bare_host))
    # when the run is ticked
    run.tick()
    # then the attempt fails at init and says what to install
    attempt = run.attempt("gate")
    assert attempt.status == AttemptStatus.FAILED_INIT
    assert "'human.default'" in attempt.status_reason
    assert "hpc.default, local.default" in attempt.status_reason
    assert "pip install matterstack-ops-human" in attempt.status_reason


def test_unconfigured_instance_of_an_installed_kind_is_not_called_uninstalled(start_run):
    # given the human kind installed but no human.night instance configured
    run = start_run(Campaignish([Task(task_id="t1", operator_key="human.night")]), "human.default")
    # when the run is ticked
    run.tick()
    # then the reason asks for configuration, not for an installation
    reason = run.attempt("t1").status_reason
    assert "'human.night'" in reason and "add human.night to operators.yaml" in reason
    assert "not installed" not in reason and "pip install" not in reason


def test_invalid_key_fails_the_attempt_with_the_rule_it_breaks(start_run):
    # given a task whose key cannot be a key at all
    run = start_run(Campaignish([Task(task_id="t1", operator_key="no dot here")]))
    # when the run is ticked
    run.tick()
    # then the attempt fails at init naming the task and the value
    attempt = run.attempt("t1")
    assert attempt.status == AttemptStatus.FAILED_INIT
    assert "t1" in attempt.status_reason and "no dot here" in attempt.status_reason


def test_attempt_whose_key_left_the_wiring_is_left_alone_and_explained(start_run, host, world):
    # given a submitted attempt on scripted.a
    world.default = None
    run = start_run(Campaignish([Task(task_id="t1", operator_key="scripted.a")]), "scripted.a", "scripted.b")
    run.tick()
    with run.store() as store:
        events_before = store.attempt_events()
    # when the run is ticked with a wiring that no longer has scripted.a
    world.default = AttemptStatus.COMPLETED
    rewired = RunUnderTest(run.handle, run.campaign,
                           build_registry(run.handle, wiring_of(host, "scripted.b"), host=host))
    report = rewired.tick()
    # then the attempt is untouched and both the tick and explain name the missing key
    assert report.status == RunStatus.RUNNING
    assert "scripted.a" not in world.polls_by_key()
    with run.store() as store:
        assert store.attempt_events() == events_before
        explanation = explain(run.handle, store, rewired.registry)
    assert any("'scripted.a' is not configured" in n and "t1" in n for n in report.notes)
    (waiting,) = explanation.frontier
    assert waiting.task_id == "t1" and waiting.operator_key == "scripted.a"
    assert "cannot be polled" in waiting.waits_for and "'scripted.a' is not configured" in waiting.waits_for
    # and with the key back the run finishes
    assert run.tick_until_done() == RunStatus.COMPLETED


def test_instance_limit_holds_tasks_back_until_a_slot_frees(start_run, world):
    # given three tasks on an instance allowing one active attempt
    world.default = None
    limited = Wiring(instances={"scripted.a": InstanceConfig("scripted.a", "scripted", max_concurrent=1)},
                     default_operator="scripted.a")
    run = start_run(Campaignish([Task(task_id=f"t{i}") for i in range(3)]), wiring=limited)
    # when it is ticked
    assert run.tick().submitted == 1
    assert run.tick().submitted == 0
    # then a second starts only when the first finished
    world.default = AttemptStatus.COMPLETED
    assert run.tick().submitted == 1
    assert run.tick_until_done() == RunStatus.COMPLETED
