"""``OperatorConformance``: the tests every operator kind passes against its real system.

A plugin's test suite subclasses it, names the instance under test and its settings, and
pytest runs the inherited tests (the ``matterstack_harness`` fixture comes from the kit's
pytest plugin, loaded through the ``pytest11`` entry point). See docs/testing-plugins.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from matterstack.core.status import AttemptStatus
from matterstack.core.workflow import Task
from matterstack.errors import ConfigError, TransientOperatorError
from matterstack.plugins.interfaces import AttemptContext, CollectResult, Operator
from matterstack.testing.outage import UnreachableOperator

OUTCOMES = ("succeed", "fail", "long")
UNKNOWN_SETTING = "no_such_setting_of_the_conformance_kit"


class _Remove:
    def __repr__(self) -> str:
        return "REMOVE"


REMOVE = _Remove()
"""In an ``invalid_settings`` block, the value that leaves a key of the valid settings out."""
NEAR_MISS = "max_concurent"
"""A typo of ``max_concurrent``, which every instance takes: refused, naming the key it missed."""
FAKE_OUTAGE_ID = "fake-unreachable"
ACTIVE = frozenset({AttemptStatus.SUBMITTED, AttemptStatus.RUNNING, AttemptStatus.WAITING_EXTERNAL})
EXECUTIONS_FILE = "executions.txt"
HEARTBEAT_FILE = "heartbeat.txt"
RESULT_FILE = "result.txt"


def outage_id(cls: type) -> str:
    """The test id of a class's outage: ``fake-unreachable`` when it keeps the kit's fake."""
    if cls.unavailable is OperatorConformance.unavailable:
        return FAKE_OUTAGE_ID
    return cls.outage_name or "real-outage"


def default_command(task_id: str, outcome: str) -> str:
    """The shell command of the default task for ``outcome``. Every run of it appends a line to
    ``executions.txt``; "long" appends a beat to ``heartbeat.txt`` every 0.5 s for 600 s (appends,
    so a kill mid-beat never leaves the file empty)."""
    count = f"echo {task_id} >> {EXECUTIONS_FILE}"
    if outcome == "succeed":
        return f"{count}; echo {task_id} > {RESULT_FILE}"
    if outcome == "fail":
        return f"{count}; echo 'the conformance kit asked this task to fail' >&2; exit 3"
    if outcome == "long":
        return (f"{count}; i=0; while [ $i -lt 1200 ]; do i=$((i+1)); echo $i >> {HEARTBEAT_FILE}; "
                "sleep 0.5; done")
    raise ValueError(f"unknown outcome {outcome!r}; one of {', '.join(OUTCOMES)}")


def collected_text(attempt: AttemptContext, collected: CollectResult, name: str) -> str | None:
    """The text of a collected file by name, or None when it was not collected."""
    path = collected.files.get(name)
    return None if path is None else (attempt.attempt_dir / path).read_text()


class OperatorConformance:
    """Conformance tests for the operator instance ``operator_key`` (``kind.name``).

    Set ``operator_key``, ``operator_settings`` and ``invalid_settings``; override the
    optional hooks where the kind is not a command runner (see each one's docstring).
    """

    operator_key: ClassVar[str] = ""
    """The instance under test, ``kind.name``; its kind must be registered by an installed plugin."""
    invalid_settings: ClassVar[list[tuple[dict, str]]] = []
    """``(overrides, text)`` pairs: the valid settings with ``overrides`` applied (a key set to
    :data:`REMOVE` is left out) must be refused with one ConfigError containing ``text``."""
    timeout: ClassVar[float] = 60
    """Seconds any wait may take (a job to end, an attempt to start)."""
    poll_interval: ClassVar[float] = 0.2
    """Seconds between two polls while waiting."""
    expected_collected_files: ClassVar[frozenset[str]] = frozenset({RESULT_FILE})
    """Names ``collect`` must return for a "succeed" task."""
    fail_exit_code: ClassVar[int | None] = 3
    """The exit code a "fail" task ends with; None for a kind that has no exit codes."""
    outage_name: ClassVar[str | None] = None
    """The test id of a real outage (``closed-ssh-port``), when ``unavailable`` is overridden."""
    started_statuses: ClassVar[frozenset[AttemptStatus]] = frozenset({AttemptStatus.RUNNING, AttemptStatus.WAITING_EXTERNAL})
    """Statuses that say a "long" attempt's work has started (so cancelling it stops real work)."""
    start_grace: ClassVar[float] = 1.5
    """Seconds to let a started "long" attempt work before it is cancelled."""

    def operator_settings(self, tmp_path) -> dict[str, Any]:
        """The operators.yaml block of the instance under test, without ``kind``."""
        return {}

    def task(self, task_id: str, *, outcome: str) -> Task:
        """A task this kind runs that ends as ``outcome`` says: "succeed", "fail", or "long"
        (runs until cancelled, at least 60 s). Default: a command task."""
        return Task(task_id=task_id, command=default_command(task_id, outcome))

    def complete_externally(self, operator: Operator, attempt: AttemptContext, outcome: str) -> None:
        """Make the outside world act on a submitted "succeed" or "fail" attempt (a person
        answers, an instrument measures). Default: nothing; the work runs by itself."""

    @contextlib.contextmanager
    def unavailable(self, operator: Operator) -> Iterator[Operator]:
        """While open, the outside system cannot be reached; yields the operator to use then
        (``operator`` itself for a real fault such as a stopped daemon, or one pointed at a
        closed port). Default: the kit's FAKE :class:`UnreachableOperator` around ``operator``,
        for systems whose real outage cannot be shown; its test ids say ``fake-unreachable``."""
        yield UnreachableOperator(operator)

    def check_collected(self, attempt: AttemptContext, collected: CollectResult) -> None:
        """Check the collected result of a "succeed" attempt. Default: ``result.txt`` holds
        the task id, as the default task writes it."""
        text = collected_text(attempt, collected, RESULT_FILE)
        assert text == f"{attempt.task.task_id}\n", f"{RESULT_FILE} holds {text!r}"

    def executions(self, operator: Operator, attempt: AttemptContext, collected: CollectResult) -> int:
        """How many times the outside world carried out ``attempt``, from its evidence.
        Default: the lines of the collected ``executions.txt`` (one per run of the command)."""
        text = collected_text(attempt, collected, EXECUTIONS_FILE)
        assert text is not None, f"collect returned no {EXECUTIONS_FILE}: override executions() for this kind"
        return len(text.splitlines())

    def assert_work_stopped(self, operator: Operator, attempt: AttemptContext) -> None:
        """Fail unless the cancelled "long" attempt's work really stopped. Default: its
        ``heartbeat.txt``, collected twice two seconds apart, no longer grows."""
        time.sleep(1.0)  # the scheduler's kill signal may still be on its way
        first = collected_text(attempt, operator.collect(attempt), HEARTBEAT_FILE)
        assert first, f"the long task left no {HEARTBEAT_FILE}: it never ran, or override assert_work_stopped()"
        time.sleep(2.0)
        second = collected_text(attempt, operator.collect(attempt), HEARTBEAT_FILE)
        assert second == first, f"{HEARTBEAT_FILE} still beats after CANCELLED ({first.strip()} -> {second.strip()})"

    # The tests. Each receives the harness of the pytest plugin (``matterstack_harness``).

    def test_attempts_polled_together_end_completed_or_failed_with_their_results(self, matterstack_harness):
        """Round trip: three attempts, one poll per round for all of them, then collect."""
        harness = matterstack_harness
        operator = harness.new_operator()
        submitted = [harness.submit(operator, harness.attempt(outcome), outcome) for outcome in ("succeed", "succeed", "fail")]
        assert all(s.status in ACTIVE for s in submitted), [s.status for s in submitted]
        for entry in submitted:
            self.complete_externally(operator, entry.context, entry.outcome)

        harness.poll_until(operator, submitted)

        for entry in submitted:
            collected = operator.collect(entry.context)
            assert_collected_files_are_there(entry.context, collected)
            if entry.outcome == "succeed":
                assert entry.status == AttemptStatus.COMPLETED, entry.last
                assert self.expected_collected_files <= set(collected.files), sorted(collected.files)
                self.check_collected(entry.context, collected)
            else:
                assert entry.status == AttemptStatus.FAILED, entry.last
                assert entry.last.reason.strip(), "a FAILED observation must say why"
                if self.fail_exit_code is not None:
                    assert entry.last.exit_code == self.fail_exit_code, entry.last

    def test_submitting_one_token_twice_starts_one_execution(self, matterstack_harness):
        """Idempotent submission: prepare + submit again with the same token (as a tick does
        after a crash) gives the same external id and nothing new runs."""
        harness = matterstack_harness
        operator = harness.new_operator()
        attempt = harness.attempt("succeed")

        first = harness.submit(operator, attempt, "succeed")
        second = harness.submit(operator, attempt, "succeed")
        self.complete_externally(operator, second.context, "succeed")
        harness.poll_until(operator, [second])
        collected = operator.collect(second.context)

        assert second.context.external_id == first.context.external_id
        assert second.status == AttemptStatus.COMPLETED, second.last
        assert self.executions(operator, second.context, collected) == 1

    def test_reconcile_finds_an_attempt_submitted_by_a_process_killed_before_it_could_record_it(self, matterstack_harness):
        """Crash between submit and commit: a child process submits, then dies by SIGKILL; a
        fresh operator's reconcile finds the attempt and its external id, and answers None
        for an attempt never submitted."""
        harness = matterstack_harness
        crashed, never = harness.attempt("succeed"), harness.attempt("succeed", label="never")

        harness.crash_after_submit(crashed)
        fresh = harness.new_operator()
        found = harness.reconcile_until_found(fresh, [crashed, never], crashed)

        assert found.get(never.attempt_id) is None, found.get(never.attempt_id)
        observation = found.get(crashed.attempt_id)
        assert observation is not None, "reconcile did not find the attempt the crashed process submitted"
        assert AttemptStatus(observation.status) in ACTIVE | {AttemptStatus.COMPLETED}, observation
        adopted = harness.adopt(fresh, crashed, observation, "succeed")
        self.complete_externally(fresh, adopted.context, "succeed")
        harness.poll_until(fresh, [adopted])
        assert adopted.status == AttemptStatus.COMPLETED, adopted.last
        assert self.executions(fresh, adopted.context, fresh.collect(adopted.context)) == 1

    def test_cancel_stops_a_long_attempt_and_it_ends_cancelled(self, matterstack_harness):
        harness = matterstack_harness
        operator = harness.new_operator()
        entry = harness.submit(operator, harness.attempt("long"), "long")
        harness.poll_until(operator, [entry], done=lambda s: s.status in self.started_statuses or s.status.is_terminal,
                           what=f"started ({', '.join(sorted(s.value for s in self.started_statuses))})")
        assert entry.status in self.started_statuses, entry.last
        time.sleep(self.start_grace)

        operator.cancel(entry.context)
        harness.poll_until(operator, [entry])

        assert entry.status == AttemptStatus.CANCELLED, entry.last
        self.assert_work_stopped(operator, entry.context)

    def test_invalid_settings_are_refused_with_one_line_naming_the_key_path(self, matterstack_harness, tmp_path):
        """Each of ``invalid_settings``, applied over the valid settings, is refused, and so is an unknown key in the instance block
        and in its backend block (when it has one), a typo with the key it missed."""
        harness = matterstack_harness
        valid = self.operator_settings(tmp_path)
        harness.new_operator(valid)
        at = f"operators.{self.operator_key}"
        unknown = [({**valid, UNKNOWN_SETTING: True}, f"{at}.{UNKNOWN_SETTING}: unknown key"),
                   ({**valid, NEAR_MISS: 2}, f"{at}.{NEAR_MISS}: unknown key (fix: did you mean 'max_concurrent'?")]
        if isinstance(valid.get("backend"), dict):
            unknown.append(({**valid, "backend": {**valid["backend"], UNKNOWN_SETTING: True}},
                            f"{at}.backend.{UNKNOWN_SETTING}: unknown key"))

        overridden = [(with_overrides(valid, overrides), text) for overrides, text in self.invalid_settings]
        for block, text in [*overridden, *unknown]:
            with pytest.raises(ConfigError) as raised:
                harness.new_operator(block)
            line = str(raised.value)
            assert "\n" not in line and line == raised.value.one_line(), line
            assert at in line, f"{block}: {line}"
            assert text in line, f"{block}: {text!r} not in {line!r}"

    def test_an_unreachable_system_never_fails_the_attempt(self, matterstack_harness, matterstack_outage):
        """Transient errors: while the system is unreachable, poll raises
        TransientOperatorError or gives no verdict; afterwards the attempt completes."""
        harness = matterstack_harness
        operator = harness.new_operator()
        entry = harness.submit(operator, harness.attempt("succeed"), "succeed")
        self.complete_externally(operator, entry.context, "succeed")

        verdicts = []
        with harness.unavailable(operator) as down:
            for _ in range(2):
                with contextlib.suppress(TransientOperatorError):
                    seen = down.poll([entry.context])
                    verdicts += [AttemptStatus(o.status) for o in seen.values() if AttemptStatus(o.status).is_terminal]
        harness.poll_until(operator, [entry])

        assert verdicts == [], f"{matterstack_outage}: an unreachable system gave verdicts {verdicts}"
        assert entry.status == AttemptStatus.COMPLETED, entry.last

    def test_a_tick_during_an_outage_keeps_the_attempt_active_and_explain_shows_it(self, matterstack_harness, matterstack_outage):
        """One real tick (operators.yaml snapshot, SQLite store, ``step_once``) while the
        system is unreachable: the attempt stays active, ``explain`` names the outage."""
        harness = matterstack_harness
        run = harness.tick_run(self.task(f"outage-{harness.token()}", outcome="succeed"))
        run.tick_until(lambda r: r.attempt() is not None and r.attempt().status in ACTIVE, what="submitted")
        operator = run.registry.get(self.operator_key)
        self.complete_externally(operator, run.context(run.attempt()), "succeed")

        with harness.unavailable(operator) as down:
            run.registry.pinned[self.operator_key] = down
            try:
                report = run.tick()
                during = run.attempt()
                explanation = run.explain()
            finally:
                del run.registry.pinned[self.operator_key]
        run.tick_until(lambda r: r.run_status() in ("COMPLETED", "FAILED", "CANCELLED"), what="finished")

        assert during.status in ACTIVE, f"{matterstack_outage}: {during.status.value} ({during.status_reason})"
        assert any(n.startswith(f"{self.operator_key}: ") and "will retry" in n for n in report.notes), report.notes
        (waiting,) = [w for w in explanation.frontier if w.task_id == run.task.task_id]
        assert waiting.waits_for.strip(), explanation
        assert any(n.startswith(f"{self.operator_key}: unreachable since") for n in explanation.notes), explanation.notes
        assert (run.run_status(), run.attempt().status) == ("COMPLETED", AttemptStatus.COMPLETED), run.attempt()

    def test_describe_wait_says_in_a_sentence_what_an_active_attempt_waits_for(self, matterstack_harness):
        harness = matterstack_harness
        operator = harness.new_operator()
        entry = harness.submit(operator, harness.attempt("long"), "long")

        words = operator.describe_wait(entry.context)

        assert isinstance(words, str) and words.strip() and "\n" not in words.strip(), repr(words)


def with_overrides(valid: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``valid`` with each key of ``overrides`` replacing its own (a whole value: a nested
    block is replaced, not merged); a key set to :data:`REMOVE` is left out."""
    block = {**valid, **overrides}
    return {key: value for key, value in block.items() if value is not REMOVE}


def assert_collected_files_are_there(attempt: AttemptContext, collected: CollectResult) -> None:
    """Every collected file exists in the attempt directory and has the sha256 recorded."""
    assert set(collected.sha256) == set(collected.files), (sorted(collected.files), sorted(collected.sha256))
    for name, relative in collected.files.items():
        path = attempt.attempt_dir / relative
        assert path.is_file(), f"collected {name!r} is not in the attempt directory ({path})"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == collected.sha256[name], f"sha256 of {name!r}"
