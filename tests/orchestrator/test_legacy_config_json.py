"""A MatterStack 0.2.x ``config.json`` in the run directory: ``max_hpc_jobs_per_run`` caps
the attempts active at once per operator key, ``execution_mode`` routes the tasks that name
no operator (or simulates them, as 0.2.x did), and a file that does not validate is refused
before the tick writes anything."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifecycle_kit import Campaignish, wiring_of

from matterstack import ExternalTask, GateTask, Task
from matterstack.core.status import AttemptStatus, RunStatus, TaskStatus
from matterstack.errors import ConfigError
from matterstack.orchestrator.explain import explain, render
from matterstack.orchestrator.legacy_config import (
    DEFAULT_MAX_JOBS_PER_KEY,
    EXECUTION_MODES,
    parse_legacy_config,
    read_legacy_config,
)
from matterstack.wiring.model import InstanceConfig, embedded_default_wiring
from matterstack.store import StateStore

OPERATOR = "MATTERSTACK_OPERATOR"
CONFIG = Path("/runs/r1/config.json")


def write_config(run, document) -> Path:
    path = run.handle.root_path / "config.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def explain_text(run) -> str:
    with StateStore.open(run.handle.db_path, readonly=True) as store:
        return render(explain(run.handle, store, run.registry))


# -- max_hpc_jobs_per_run ------------------------------------------------------------------

def test_max_hpc_jobs_per_run_caps_active_attempts_of_each_key(start_run, world):
    # given five tasks on each of two keys, attempts that stay SUBMITTED, and config.json
    # capping each key at 2
    world.default = None
    tasks = [Task(task_id=f"{key[-1]}{i}", operator_key=key) for key in ("scripted.a", "scripted.b")
             for i in range(5)]
    run = start_run(Campaignish(tasks), "scripted.a", "scripted.b")
    write_config(run, {"execution_mode": "HPC", "max_hpc_jobs_per_run": 2})
    # when the run is ticked twice
    run.tick()
    run.tick()
    # then two attempts of each key are active, the others wait for a slot, and explain says why
    assert sorted(key for key, _ in world.submitted) == ["scripted.a"] * 2 + ["scripted.b"] * 2
    assert run.statuses()["a2"] == "PENDING"
    text = explain_text(run)
    assert ("a2 [PENDING] waits for a free slot: 2 active attempts on scripted.a, "
            "config.json max_hpc_jobs_per_run 2") in text


def test_a_finished_attempt_frees_its_slot(start_run, world):
    # given a cap of 1 and two tasks on one key
    world.default = None
    tasks = [Task(task_id=t, operator_key="scripted.a") for t in ("t1", "t2")]
    run = start_run(Campaignish(tasks), "scripted.a")
    write_config(run, {"max_hpc_jobs_per_run": 1, "execution_mode": "HPC"})
    run.tick()
    assert run.attempts("t2") == []
    # when the first attempt completes
    world.outcomes[run.attempt("t1").attempt_id] = AttemptStatus.COMPLETED
    run.tick()
    # then the second starts
    assert run.attempt("t1").status == AttemptStatus.COMPLETED
    assert run.attempt("t2").status == AttemptStatus.SUBMITTED


def test_config_json_without_the_cap_uses_the_default_of_ten(start_run, world):
    # given twelve tasks and a config.json that names only the mode
    world.default = None
    run = start_run(Campaignish([Task(task_id=f"t{i:02d}", operator_key="scripted.a") for i in range(12)]),
                    "scripted.a")
    write_config(run, {"execution_mode": "HPC"})
    # when ticked
    run.tick()
    # then ten attempts start, as 0.2.x allowed, and explain names the default
    assert len(world.submitted) == DEFAULT_MAX_JOBS_PER_KEY
    assert "MatterStack 0.2.x's default 10" in explain_text(run)


def test_operators_yaml_cap_wins_over_config_json(start_run, world, host):
    # given an operators.yaml cap of 3 on the key and config.json saying 1
    world.default = None
    wiring = wiring_of(host, "scripted.a")
    wiring.instances["scripted.a"] = InstanceConfig(key="scripted.a", kind="scripted", max_concurrent=3)
    run = start_run(Campaignish([Task(task_id=f"t{i}", operator_key="scripted.a") for i in range(5)]),
                    wiring=wiring)
    write_config(run, {"execution_mode": "HPC", "max_hpc_jobs_per_run": 1})
    # when ticked
    run.tick()
    # then operators.yaml's cap applies
    assert len(world.submitted) == 3
    assert "operators.yaml max_concurrent of scripted.a 3" in explain_text(run)


def test_run_without_config_json_has_no_cap_per_key(start_run, world):
    # given twelve tasks on one key and no config.json
    world.default = None
    run = start_run(Campaignish([Task(task_id=f"t{i:02d}", operator_key="scripted.a") for i in range(12)]),
                    "scripted.a")
    # when ticked
    run.tick()
    # then all of them start
    assert len(world.submitted) == 12


# -- execution_mode ------------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "key"), [("HPC", "hpc.default"), ("Local", "local.default")])
def test_execution_mode_sends_untagged_tasks_where_0_2_x_did(start_run, bare_host, mode, key):
    # given the embedded default wiring (local.default and hpc.default) and config.json's mode
    run = start_run(Campaignish([Task(task_id="t1", command="echo ran > ran.txt")]), host_=bare_host,
                    wiring=embedded_default_wiring(bare_host))
    write_config(run, {"execution_mode": mode})
    # when the run is ticked to the end
    status = run.tick_until_done(interval=0.02)
    # then the task really ran, on the key the mode names
    assert status == RunStatus.COMPLETED
    assert run.attempt("t1").operator_key == key
    assert (run.attempt_dir("t1") / "ran.txt").read_text() == "ran\n"


def test_execution_mode_leaves_tagged_tasks_alone(start_run, world):
    # given config.json saying Simulation and tasks that name an operator in each way 0.2.x knew
    tasks = [Task(task_id="by_key", operator_key="scripted.a"), Task(task_id="by_env", env={OPERATOR: "scripted.b"}),
             GateTask(task_id="gate", message="approve"), ExternalTask(task_id="lab", request_data={"t": 1})]
    run = start_run(Campaignish(tasks), "scripted.a", "scripted.b", "human.default", "experiment.default")
    write_config(run, {"execution_mode": "Simulation"})
    # when ticked
    run.tick()
    # then every one of them got an attempt on its own key
    assert {t: run.attempt(t).operator_key for t in ("by_key", "by_env", "gate", "lab")} == {
        "by_key": "scripted.a", "by_env": "scripted.b", "gate": "human.default", "lab": "experiment.default"}


@pytest.mark.parametrize("document", [{"execution_mode": "Simulation"}, {"max_hpc_jobs_per_run": 4}, {}],
                         ids=["said", "left-out", "empty-object"])
def test_simulation_completes_untagged_tasks_without_running_them(start_run, bare_host, document):
    # given a config.json whose mode is (or defaults to) Simulation, an untagged task that
    # would leave a file, and a tagged task depending on it
    tasks = [Task(task_id="untagged", command="touch marker"),
             Task(task_id="after", command="true", operator_key="local.default", dependencies={"untagged"})]
    run = start_run(Campaignish(tasks), host_=bare_host, wiring=embedded_default_wiring(bare_host))
    write_config(run, document)
    # when the run is ticked to the end
    status = run.tick_until_done(interval=0.02)
    # then the untagged task is COMPLETED with no attempt and nothing ran; the reason is in its
    # event and in a run note that explain shows; its dependent ran for real
    assert status == RunStatus.COMPLETED
    assert run.attempts("untagged") == []
    assert not list(run.handle.root_path.rglob("marker"))
    with run.store() as store:
        (event,) = store.task_events("untagged")
    assert (event.to_status, event.reason.split(",")[0]) == (
        TaskStatus.COMPLETED, "simulated: config.json execution_mode is Simulation"
        if document.get("execution_mode") else "simulated: config.json execution_mode defaults to Simulation")
    assert "untagged: simulated: config.json execution_mode" in explain_text(run)
    assert run.attempt("after").status == AttemptStatus.COMPLETED
    assert run.campaign.analyzed[0]["untagged"] == {"status": "COMPLETED", "files": {}, "data": {}}


def test_explain_says_a_ready_untagged_task_will_be_simulated(start_run, bare_host):
    # given a Simulation config.json and a paused run (its ready task stays ready)
    run = start_run(Campaignish([Task(task_id="t1", command="true")]), host_=bare_host,
                    wiring=embedded_default_wiring(bare_host))
    write_config(run, {"execution_mode": "Simulation"})
    # when nothing has ticked yet
    text = explain_text(run)
    # then explain says what the next tick will do with it
    assert "t1 [PENDING] waits for its next tick, which marks it COMPLETED without running it" in text


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ("{not json", ["config.json: is not JSON", "fix: write a JSON object"]),
        ("[1, 2]", ["expected a JSON object, found a list"]),
        ({"execution_mode": "Cluster"}, ["config.json: execution_mode: unknown mode 'Cluster'",
                                         "'HPC', 'Local' or 'Simulation'"]),
        ({"execution_mode": "hpc"}, ["'hpc' is not spelled as MatterStack 0.2.x compared it ('HPC')"]),
        ({"execution_mode": 3}, ["execution_mode: expected text, found 3 (int)"]),
        ({"max_hpc_jobs_per_run": "4"}, ["max_hpc_jobs_per_run: expected a positive whole number, found '4' (str)"]),
        ({"max_hpc_jobs_per_run": 0}, ["max_hpc_jobs_per_run: expected a positive whole number, found 0"]),
        ({"max_hpc_jobs_per_run": True}, ["found true (a boolean)"]),
    ],
    ids=["not-json", "not-object", "unknown-mode", "lower-case-mode", "mode-not-text", "cap-text", "cap-zero",
         "cap-bool"],
)
def test_bad_config_json_stops_the_tick_before_anything_is_written(start_run, bare_host, document, words):
    # given a run not yet ticked and a config.json that does not validate
    run = start_run(Campaignish([Task(task_id="t1", command="touch marker")]), host_=bare_host,
                    wiring=embedded_default_wiring(bare_host))
    path = write_config(run, document)
    before = run.handle.db_path.read_bytes()
    # when it is ticked
    with pytest.raises(ConfigError) as raised:
        run.tick()
    # then one line names the file, the key and the fix, and the run is as it was
    message = raised.value.one_line()
    assert message.startswith(str(path)) and "fix:" in message
    for word in words:
        assert word in message, message
    assert run.run().status == RunStatus.PENDING and run.attempts("t1") == []
    assert run.handle.db_path.read_bytes() == before


# -- the parser ----------------------------------------------------------------------------

def test_no_config_json_means_none(tmp_path):
    assert read_legacy_config(tmp_path) is None


def test_other_keys_are_ignored_as_0_2_x_ignored_them():
    parsed = parse_legacy_config(b'{"execution_mode": "Local", "notes": [1, 2], "max_hpc_jobs_per_run": 3}',
                                 path=CONFIG)
    assert (parsed.untagged_key, parsed.max_jobs_per_key, parsed.max_jobs_given) == ("local.default", 3, True)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(mode=st.one_of(st.sampled_from(sorted(EXECUTION_MODES)), json_values),
       cap=st.one_of(st.integers(min_value=-3, max_value=50), json_values),
       extra=st.dictionaries(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6)
                             .filter(lambda k: k not in ("execution_mode", "max_hpc_jobs_per_run")),
                             json_values, max_size=3),
       leave_out=st.sets(st.sampled_from(["execution_mode", "max_hpc_jobs_per_run"])))
def test_parser_accepts_exactly_what_0_2_x_understood(mode, cap, extra, leave_out):
    # given any JSON object with or without the two keys
    document = {**extra, "execution_mode": mode, "max_hpc_jobs_per_run": cap}
    for key in leave_out:
        del document[key]
    data = json.dumps(document).encode()
    expected_mode = document.get("execution_mode", "Simulation")
    expected_cap = document.get("max_hpc_jobs_per_run", DEFAULT_MAX_JOBS_PER_KEY)
    valid = (isinstance(expected_mode, str) and expected_mode in EXECUTION_MODES
             and type(expected_cap) is int and expected_cap >= 1)
    # when it is parsed
    try:
        parsed = parse_legacy_config(data, path=CONFIG)
    except ConfigError as error:
        # then a refusal is one line naming the file and the key at fault, with a fix
        assert not valid
        text = error.one_line()
        assert "\n" not in text and "fix:" in text and text.startswith(str(CONFIG))
        assert ("execution_mode" in text) != ("max_hpc_jobs_per_run" in text.split("(fix:")[0])
    else:
        # and an acceptance means what 0.2.x made of it
        assert valid
        assert (parsed.execution_mode, parsed.max_jobs_per_key) == (expected_mode, expected_cap)
        assert parsed.untagged_key == EXECUTION_MODES[expected_mode]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40))
def test_parser_refuses_any_bytes_that_are_not_a_valid_file_in_one_line(data):
    try:
        parse_legacy_config(data, path=CONFIG)
    except ConfigError as error:
        assert "\n" not in error.one_line() and error.one_line().startswith(str(CONFIG))
