"""From operators.yaml to running attempts: separate instances of one kind, routing (the
default operator, legacy aliases), and the concurrency limits of the schedule."""

from __future__ import annotations

from pathlib import Path

from wiring_kit import CHECKED, CountedBackend, CountedSettings, Run, Tasks, WaitingKinds, shell_task

from matterstack import Task
from matterstack.core.status import AttemptStatus, RunStatus
from matterstack.orchestrator.api import build_registry, initialize_run
from matterstack.plugins import PluginHost
from matterstack.wiring import load_operators_file


def two_clusters(write, tmp_path: Path):
    return write("operators.yaml", f"""
        operators:
          hpc.default:
            kind: hpc
            max_concurrent: 1
            backend: {{type: local, workspace_root: {tmp_path / "root-default"}}}
          hpc.dev:
            kind: hpc
            max_concurrent: 3
            backend: {{type: local, workspace_root: {tmp_path / "root-dev"}}}
    """)


def test_two_instances_of_one_kind_are_separate_operators_backends_roots_and_limits(tmp_path, write, host):
    wiring = load_operators_file(two_clusters(write, tmp_path), host)
    handle = initialize_run("ws", Tasks([]), base_path=tmp_path / "workspaces", run_id="r1")
    registry = build_registry(handle, wiring, host=host)

    default, dev = registry.get("hpc.default"), registry.get("hpc.dev")

    assert default is not dev and default.backend is not dev.backend
    assert (default.key, dev.key) == ("hpc.default", "hpc.dev")
    assert default.backend.root == tmp_path / "root-default" and dev.backend.root == tmp_path / "root-dev"
    assert (registry.max_concurrent("hpc.default"), registry.max_concurrent("hpc.dev")) == (1, 3)
    assert registry.get("hpc.dev") is dev  # built once, reused
    registry.close()


def test_each_instance_runs_its_jobs_under_its_own_root(tmp_path, write, host):
    wiring = load_operators_file(two_clusters(write, tmp_path), host)
    run = Run.start(tmp_path, Tasks([shell_task("a", "hpc.default"), shell_task("b", "hpc.dev")]), wiring, host)

    run.tick_until(lambda r: r.statuses() == {"a": "COMPLETED", "b": "COMPLETED"})

    for task_id, key, root in (("a", "hpc.default", "root-default"), ("b", "hpc.dev", "root-dev")):
        (attempt,) = run.attempts(task_id)
        assert attempt.operator_key == key
        ran_in = Path((run.handle.root_path / attempt.relative_path / "where.txt").read_text().strip())
        assert ran_in == tmp_path / root / "ws" / "run1" / task_id / attempt.attempt_id
    run.registry.close()


def test_defaults_operator_routes_tasks_that_name_no_key(tmp_path, write, host):
    wiring = load_operators_file(write("operators.yaml", """
        defaults: {operator: hpc.dev}
        operators:
          local.default: {kind: local}
          hpc.dev: {kind: hpc}
    """), host)
    run = Run.start(tmp_path, Tasks([shell_task("plain"), shell_task("pinned", "local.default")]), wiring, host)

    run.tick()

    assert run.attempts("plain")[0].operator_key == "hpc.dev"
    assert run.attempts("pinned")[0].operator_key == "local.default"
    run.registry.close()


def test_legacy_aliases_go_to_the_default_instance_never_the_first_listed(tmp_path, write):
    # given a wiring that lists other instances of each kind before .default
    host = PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": ""})
    host.pm.register(WaitingKinds(kinds=("human", "experiment")), name="stand-ins")
    wiring = load_operators_file(write("operators.yaml", """
        operators:
          hpc.dev: {kind: hpc}
          local.scratch: {kind: local}
          human.lab: {kind: human}
          experiment.remote: {kind: experiment}
          hpc.default: {kind: hpc}
          local.default: {kind: local}
          human.default: {kind: human}
          experiment.default: {kind: experiment}
    """), host)
    aliases = {"hpc": "HPC", "local": "Local", "human": "Human", "experiment": "Experiment", "spaced": " hpc "}
    tasks = [Task(task_id=task_id, command="true", env={"MATTERSTACK_OPERATOR": alias})
             for task_id, alias in aliases.items()]
    run = Run.start(tmp_path, Tasks(tasks), wiring, host)

    # when the tasks are routed and submitted
    run.tick()

    # then each alias went to <kind>.default
    keys = {task.task_id: run.attempts(task.task_id)[0].operator_key for task in tasks}
    assert keys == {"hpc": "hpc.default", "local": "local.default", "human": "human.default",
                    "experiment": "experiment.default", "spaced": "hpc.default"}
    run.registry.close()


def limited_site(write):
    return write("operators.yaml", """
        defaults: {max_concurrent: 3}
        operators:
          hpc.default: {kind: hpc, max_concurrent: 2}
          approval.default: {kind: approval, max_concurrent: 1}
    """)


def test_a_waiting_approval_never_blocks_compute_on_another_instance(tmp_path, write, host):
    # given two approvals that nobody answers (limit 1) listed before four compute tasks (limit 2)
    wiring = load_operators_file(limited_site(write), host)
    approvals = [Task(task_id=f"approve{i}", operator_key="approval.default") for i in (1, 2)]
    compute = [shell_task(f"c{i}", "hpc.default", command="sleep 0.1") for i in range(1, 5)]
    run = Run.start(tmp_path, Tasks([*approvals, *compute]), wiring, host)

    # when the run is ticked
    run.tick()
    first = run.active_by_key()
    peaks = []
    done = run.tick_until(lambda r: peaks.append(r.active_by_key()) or
                          all(r.statuses()[f"c{i}"] == "COMPLETED" for i in range(1, 5)))

    # then one approval waits, the other is held back, and every compute task ran meanwhile
    assert first == {"approval.default": 1, "hpc.default": 2}
    assert done.status == RunStatus.RUNNING
    statuses = run.statuses()
    assert statuses["approve1"] == "WAITING_EXTERNAL" and statuses["approve2"] == "PENDING"
    assert run.attempts("approve1")[0].status == AttemptStatus.WAITING_EXTERNAL
    assert all(counts.get("hpc.default", 0) <= 2 and counts.get("approval.default", 0) <= 1 for counts in peaks)
    run.registry.close()


def test_the_global_cap_limits_active_attempts_across_instances(tmp_path, write, host):
    wiring = load_operators_file(write("operators.yaml", """
        defaults: {max_concurrent: 2}
        operators:
          hpc.default: {kind: hpc}
          hpc.dev: {kind: hpc}
    """), host)
    tasks = [shell_task(f"t{i}", ("hpc.default", "hpc.dev")[i % 2], command="sleep 0.1") for i in range(6)]
    run = Run.start(tmp_path, Tasks(tasks), wiring, host)

    seen = []
    report = run.tick_until(lambda r: seen.append(sum(r.active_by_key().values())) or
                            all(s == "COMPLETED" for s in r.statuses().values()))

    assert report.status in (RunStatus.RUNNING, RunStatus.COMPLETED)
    assert max(seen) == 2
    run.registry.close()


def test_a_backend_block_is_validated_once_when_operators_yaml_is_read_and_the_kind_builds_from_it(
        tmp_path, write, host):
    host.pm.register(CountedBackend(), name="counted-test")
    CHECKED.clear()
    wiring = load_operators_file(write("operators.yaml", """
        operators:
          hpc.lab: {kind: hpc, backend: {type: counted, queue: fast}}
    """), host)
    handle = initialize_run("ws", Tasks([]), base_path=tmp_path / "workspaces", run_id="r1")
    registry = build_registry(handle, wiring, host=host)

    operator = registry.get("hpc.lab")

    assert CHECKED == ["fast"]
    assert operator.backend.settings == CountedSettings(queue="fast")
    assert wiring.instances["hpc.lab"].settings.backend == {"type": "counted", "queue": "fast"}
    registry.close()
