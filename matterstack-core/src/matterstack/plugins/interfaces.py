"""The interface an operator kind implements: an :class:`Operator` per configured key, and
the values it exchanges with the core (:mod:`matterstack.plugins.backend_interfaces` holds
the :class:`~matterstack.plugins.backend_interfaces.ComputeBackend` of the compute kinds).

The core owns the loop: it hands an operator *all* of an instance's active attempts in one
``poll`` and expects one answer per attempt. Every attempt carries a unique token (its
``attempt_id``) that the operator attaches to whatever it creates outside, so ``submit`` is
idempotent and ``reconcile`` can find work whose submission outcome was lost in a crash.

Raise :class:`TransientOperatorError` for infrastructure trouble (retried on a later tick,
never fails an attempt), :class:`BackPressureError` when it takes no more work from this user
for now (the attempt waits, unsubmitted), and :class:`PermanentOperatorError` when the outside
world refused the work for good.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from matterstack.core.status import AttemptStatus
from matterstack.errors import BackPressureError, PermanentOperatorError, TransientOperatorError

if TYPE_CHECKING:
    from matterstack.core.workflow import Task
    from matterstack.plugins.host import PluginHost

__all__ = [
    "AttemptContext",
    "BackPressureError",
    "CollectResult",
    "DeferredTask",
    "Observation",
    "Operator",
    "OperatorContext",
    "PermanentOperatorError",
    "RunFolder",
    "SubmitResult",
    "TransientOperatorError",
]


@attrs.frozen
class OperatorContext:
    """What an operator or backend factory gets besides its key and settings: the run it serves."""

    run_id: str
    run_dir: Path
    workspace_slug: str
    host: PluginHost
    operator_key: str | None = None
    """The configured instance this context was made for (``hpc.default``), so a backend
    can name it in what it tells people; None where no instance is concerned."""


class DeferredTask:
    """A task read from the run's database only when an operator first asks for it.

    The core hands these to :class:`AttemptContext` for the attempts it polls: a poll rarely
    needs the task, and decoding one per active attempt would cost every tick of a big run.
    """

    __slots__ = ("_load",)

    def __init__(self, load):
        self._load = load

    def load(self) -> Task:
        """The task."""
        return self._load()


class RunFolder:
    """A folder of a run, ``run_dir / relative``, made a :class:`~pathlib.Path` only when
    first used: the core builds a context for every active attempt at every tick, a poll
    seldom looks at the folder, and joining paths is what pathlib is slow at. Compares and
    hashes as that path."""

    __slots__ = ("run_dir", "relative")

    def __init__(self, run_dir: Path, relative: str):
        self.run_dir = run_dir
        self.relative = relative

    def path(self) -> Path:
        """The folder."""
        return _joined(self.run_dir, self.relative)

    def __eq__(self, other: object) -> bool:
        return self.path() == (other.path() if type(other) is RunFolder else other)

    def __hash__(self) -> int:
        return hash(self.path())

    def __repr__(self) -> str:
        return repr(self.path())


@lru_cache(maxsize=1 << 16)
def _joined(run_dir: Path, relative: str) -> Path:
    # A process that ticks again and again (loop) asks for the same folders at every tick.
    return run_dir / relative


@attrs.frozen
class AttemptContext:
    """One attempt as an operator sees it. ``attempt_id`` is the idempotency token.

    ``task`` is the attempt's :class:`~matterstack.core.workflow.Task` (given as the task, or
    as a :class:`DeferredTask` the core resolves on first access).
    """

    attempt_id: str
    _task: Any = attrs.field(alias="task", eq=False, repr=False)
    run_id: str
    run_dir: Path
    _attempt_dir: Path | RunFolder = attrs.field(alias="attempt_dir")
    operator_key: str
    operator_data: dict[str, Any] = attrs.field(factory=dict)
    external_id: str | None = None

    @property
    def task(self) -> Task:
        """The task this attempt runs."""
        value = self._task
        if type(value) is DeferredTask:
            value = value.load()
            object.__setattr__(self, "_task", value)
        return value

    @property
    def attempt_dir(self) -> Path:
        """The attempt's own directory (given as a path, or as a :class:`RunFolder` the core
        joins on first access)."""
        value = self._attempt_dir
        if type(value) is RunFolder:
            value = value.path()
            object.__setattr__(self, "_attempt_dir", value)
        return value

    @property
    def relative_dir(self) -> str:
        """The attempt directory relative to the run (``tasks/t1/attempts/<id>``), for
        messages; the whole path when it lies outside the run directory."""
        if type(self._attempt_dir) is RunFolder and self._attempt_dir.run_dir == self.run_dir:
            return self._attempt_dir.relative
        try:
            return self.attempt_dir.relative_to(self.run_dir).as_posix()
        except ValueError:
            return str(self.attempt_dir)


@attrs.frozen(init=False)
class Observation:
    """What the outside world says about one attempt right now."""

    status: AttemptStatus
    external_id: str | None = None
    reason: str = ""
    exit_code: int | None = None

    def __init__(self, status: AttemptStatus, external_id: str | None = None, reason: str = "",
                 exit_code: int | None = None, data: Any = None):
        # ``data`` was a field the core never read; a plugin written when it was may still pass it
        self.__attrs_init__(status, external_id, reason, exit_code)


@attrs.frozen
class SubmitResult:
    """The outcome of a submission: the external id, and the status the attempt moves to
    (SUBMITTED for a queued job, WAITING_EXTERNAL for a person or an instrument)."""

    external_id: str | None
    status: AttemptStatus = AttemptStatus.SUBMITTED
    reason: str = ""
    operator_data: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class CollectResult:
    """Results brought into the attempt directory: files by name (paths relative to the
    attempt directory), structured data, and the sha256 of each file by name."""

    files: dict[str, str] = attrs.field(factory=dict)
    data: dict[str, Any] = attrs.field(factory=dict)
    sha256: dict[str, str] = attrs.field(factory=dict)


class Operator(abc.ABC):
    """Carries out attempts for one configured key (``hpc.default``, ``human.default``).

    Built by its factory as ``factory(key, settings, context)``; one instance per key, reused
    for the life of the process (so it may hold connections; release them in :meth:`close`).
    """

    def __init__(self, key: str, settings: Any, context: OperatorContext):
        self.key = key
        self.settings = settings
        self.context = context

    @abc.abstractmethod
    def prepare(self, attempt: AttemptContext) -> None:
        """Write what the attempt needs into its directory (manifest, inputs, instructions)."""

    @abc.abstractmethod
    def submit(self, attempt: AttemptContext) -> SubmitResult:
        """Start the attempt outside, tagged with its token; submitting one token twice starts nothing new."""

    def submit_many(self, attempts: list[AttemptContext], answer: Callable[[str, Any], None]) -> None:
        """Submit several prepared attempts, calling ``answer(attempt_id, outcome)`` as soon as
        each outcome is known (the core records it at once, so work done before a crash is
        kept): a :class:`SubmitResult`, or the exception that attempt's submission raised.
        After a :class:`BackPressureError` the attempts left are answered with that same
        refusal, unsubmitted. The default submits one attempt at a time; an operator that can
        submit many in a few round trips overrides it. An attempt never answered stays
        CREATED, and the next tick's reconcile asks for it by token."""
        for index, attempt in enumerate(attempts):
            try:
                outcome = self.submit(attempt)
            except Exception as exc:  # one attempt's failure is its own; the core words it
                outcome = exc
            answer(attempt.attempt_id, outcome)
            if isinstance(outcome, BackPressureError):
                for waiting in attempts[index + 1:]:
                    answer(waiting.attempt_id, outcome)
                return

    @abc.abstractmethod
    def poll(self, attempts: list[AttemptContext]) -> dict[str, Observation]:
        """Observe all of this instance's active attempts at once; key the answer by attempt id."""

    @abc.abstractmethod
    def reconcile(self, attempts: list[AttemptContext]) -> dict[str, Observation | None]:
        """For attempts whose submission outcome is unknown: the observation if the outside world has them, else None."""

    def fetch_results(self, attempts: list[AttemptContext]) -> None:
        """Bring in the results of several finished attempts together, before the core calls
        :meth:`collect` for each of them: a tick hands every attempt of the instance it is
        about to collect to one call. ``collect`` must then not fetch again what this brought
        in. Raise :class:`TransientOperatorError` when the outside world cannot be reached:
        the core notes the outage and still calls ``collect`` for each attempt. The default
        brings in nothing (``collect`` fetches each attempt's results itself); an operator
        that can bring many down in one round trip overrides it."""

    @abc.abstractmethod
    def collect(self, attempt: AttemptContext) -> CollectResult:
        """Bring a finished attempt's results (files, data) into its directory."""

    @abc.abstractmethod
    def cancel(self, attempt: AttemptContext) -> None:
        """Really stop the external work (scancel, a cancellation file, an HTTP DELETE)."""

    def cancel_many(self, attempts: list[AttemptContext]) -> dict[str, Exception]:
        """Stop several attempts (``matterstack cancel`` of a run stops all of an instance's
        at once); return the error of each attempt that could not be stopped, by attempt id.
        The default calls :meth:`cancel` for one attempt at a time; an operator that can
        stop many in one round trip overrides it."""
        failures: dict[str, Exception] = {}
        for attempt in attempts:
            try:
                self.cancel(attempt)
            except (TransientOperatorError, PermanentOperatorError) as exc:
                failures[attempt.attempt_id] = exc
        return failures

    @abc.abstractmethod
    def describe_wait(self, attempt: AttemptContext) -> str:
        """What the attempt waits for, in this operator's words, for ``explain``."""

    def check_settings(self) -> list[tuple[str, str, str]]:
        """Ask the outside system whether it knows what the settings name (a partition, a
        queue, an instrument), for ``matterstack operators check --cluster``: one
        ``(key path inside the instance's block, problem, fix)`` per setting it refuses; raise
        :class:`TransientOperatorError` when it cannot be asked. The default checks nothing."""
        return []

    def doctor(self) -> list[tuple[str, bool, str]]:
        """Reach the outside system and say whether it works, for ``matterstack doctor``: one
        ``(check, ok, detail)`` per thing looked at (``("ssh", True, "login.cluster.edu as
        alice")``, ``("partition", False, "normal is not known to sinfo")``). A failed check
        makes ``doctor`` exit 1. The default checks nothing (``doctor`` says so)."""
        return []

    def close(self) -> None:
        """Release what the operator holds open (connections); the default holds nothing."""
