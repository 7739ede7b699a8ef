"""Collecting in one go: a tick hands an operator every attempt it is about to collect in one
``fetch_results`` call, then collects each; an outage there is noted and each attempt is
still collected one at a time."""

from __future__ import annotations

from lifecycle_kit import Campaignish, ScriptedOperator

from matterstack import Task
from matterstack.core.status import AttemptStatus
from matterstack.errors import TransientOperatorError
from matterstack.plugins import CollectResult, hookimpl


class FetchingOperator(ScriptedOperator):
    """A scripted operator whose results come down together: ``fetch_results`` writes each
    attempt's result file, and ``collect`` fetches only the attempts it did not bring in."""

    def __init__(self, key, settings, context, world, calls, failure=None):
        super().__init__(key, settings, context, world)
        self.calls = calls
        self.failure = failure
        self.fetched: set[str] = set()

    def fetch_results(self, attempts):
        self.calls.append(("fetch_results", sorted(a.task.task_id for a in attempts)))
        if self.failure is not None:
            raise self.failure
        for attempt in attempts:
            (attempt.attempt_dir / "result.txt").write_text(attempt.task.task_id)
            self.fetched.add(attempt.attempt_id)

    def collect(self, attempt):
        if attempt.attempt_id not in self.fetched:
            self.calls.append(("fetched alone", attempt.task.task_id))
            (attempt.attempt_dir / "result.txt").write_text(attempt.task.task_id)
        return CollectResult(files={"result.txt": "result.txt"})


class FetchingKind:
    """Registers the operator kind ``fetching`` (an in-test plugin)."""

    def __init__(self, world, failure=None):
        self.world = world
        self.failure = failure
        self.calls: list = []

    @hookimpl
    def matterstack_operator_kinds(self, register):
        register("fetching", lambda key, settings, context: FetchingOperator(
            key, settings, context, self.world, self.calls, self.failure))


def test_a_tick_fetches_the_results_of_every_finishing_attempt_in_one_call(host, start_run, world):
    # given three submitted attempts, two of which end before the next tick
    kind = FetchingKind(world)
    host.pm.register(kind, name="fetching-test")
    world.default = None
    run = start_run(Campaignish([Task(task_id=t) for t in ("t1", "t2", "t3")]), "fetching.default")
    run.tick()
    world.task_outcomes = {"t1": AttemptStatus.COMPLETED, "t2": AttemptStatus.FAILED}

    # when the run is ticked, then ticked again after the third ends
    run.tick()
    world.task_outcomes["t3"] = AttemptStatus.COMPLETED
    run.tick()

    # then each tick fetched its finishing attempts in one call, and none was fetched again
    assert kind.calls == [("fetch_results", ["t1", "t2"]), ("fetch_results", ["t3"])]
    for task_id, status in (("t1", AttemptStatus.COMPLETED), ("t2", AttemptStatus.FAILED), ("t3", AttemptStatus.COMPLETED)):
        attempt = run.attempt(task_id)
        assert attempt.status == status
        assert (run.attempt_dir(task_id) / "result.txt").read_text() == task_id
        assert attempt.operator_data["output_files"] == {"result.txt": "result.txt"}


def test_an_outage_while_fetching_together_is_noted_and_each_attempt_is_collected_alone(host, start_run, world):
    # given two submitted attempts whose operator cannot fetch results together
    kind = FetchingKind(world, failure=TransientOperatorError("ssh hpc: connection reset while fetching",
                                                              fix="the next tick retries"))
    host.pm.register(kind, name="fetching-test")
    world.default = None
    run = start_run(Campaignish([Task(task_id="t1"), Task(task_id="t2")]), "fetching.default")
    run.tick()
    world.default = AttemptStatus.COMPLETED

    # when both end
    report = run.tick()

    # then the outage is a note (and an outage explain shows), and both were collected alone
    assert report.notes == ("fetching.default: ssh hpc: connection reset while fetching (fix: the next tick retries); "
                            "2 attempt(s) collected one at a time instead",)
    assert kind.calls[1:] == [("fetched alone", "t1"), ("fetched alone", "t2")]
    assert {run.attempt(t).status for t in ("t1", "t2")} == {AttemptStatus.COMPLETED}
    with run.store() as store:
        assert store.operator_contacts()["fetching.default"].last_error_at is not None
