"""The public Python API of runs: ``initialize_run``, ``step_run``, ``run_until_completion``.

A workspace's ``main.py`` (or a notebook) drives runs with these; the CLI is built on them.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

from matterstack.core.ids import chronological_id
from matterstack.core.records import Run
from matterstack.core.run_id import check_run_id
from matterstack.core.status import RunStatus
from matterstack.core.times import utc_now
from matterstack.core.workflow import anchor_file_sources
from matterstack.errors import ConfigError, WorkflowError
from matterstack.orchestrator.handle import RunHandle
from matterstack.orchestrator.operator_registry import OperatorRegistry
from matterstack.plugins.interfaces import OperatorContext
from matterstack.orchestrator.tick import TickReport, tick

__all__ = ["IdleWait", "RunHandle", "initialize_run", "step_run", "run_until_completion", "build_registry", "step_once",
           "rerun_task"]

FIRST_IDLE_WAIT = 0.001
"""Seconds to wait after the first tick that finds nothing to do (then doubling)."""


def new_run_id(now: datetime | None = None) -> str:
    """``YYYYMMDD_HHMMSS_<8 hex>`` in UTC, as MatterStack has always named runs."""
    return chronological_id(now)


def initialize_run(workspace_slug, campaign, base_path="workspaces", run_id=None, *,
                   workspace_path=None) -> RunHandle:
    """Create a run of ``campaign`` and record its first iteration (``plan(None)``).

    The run directory is ``<base_path>/<workspace_slug>/runs/<run_id>`` (or
    ``<workspace_path>/runs/<run_id>``), made 0700 (less if the umask says so): it holds the
    tasks' env values. The plan is validated before anything is written, so a bad workflow
    leaves no half-made run behind. A relative ``FileFromPath`` is recorded under the
    workspace folder (see :func:`~matterstack.core.workflow.anchor_file_sources`).
    """
    from matterstack.orchestrator.planning import planned_tasks
    from matterstack.store import StateStore

    run_id = check_run_id(run_id) if run_id else new_run_id()
    folder = Path(workspace_path) if workspace_path else Path(base_path) / workspace_slug
    run_dir = (folder / "runs" / run_id).resolve()
    if run_dir.exists():
        raise ConfigError(f"run {run_id} already exists", where=str(run_dir),
                          fix="choose another run id or omit it")
    try:
        workflow = campaign.plan(None)
    except Exception as exc:
        raise WorkflowError(f"plan(None) raised {type(exc).__name__}: {exc}",
                            where=f"workspace {workspace_slug}",
                            fix="fix the campaign's plan() (run with --debug for the traceback)") from exc
    tasks = []
    if workflow is not None:
        tasks = planned_tasks(workflow)
        workflow.validate(known_task_ids=set())
    run_dir.mkdir(mode=0o700, parents=True)
    run = Run(run_id=run_id, workspace_slug=workspace_slug, root_path=str(run_dir),
              created_at=utc_now(), status=RunStatus.PENDING)
    with StateStore.create(run_dir / "state.sqlite", run) as store:
        store.add_tasks(anchor_file_sources(tasks, run_dir.parent.parent))
    return RunHandle(run_id=run_id, workspace_slug=workspace_slug, root_path=run_dir)


def build_registry(handle: RunHandle, wiring=None, *, host=None) -> OperatorRegistry:
    """The operator registry for a run: ``wiring`` if given, else the run's own (its
    ``operators_snapshot/``, else the embedded default; see
    :func:`matterstack.wiring.load_run_wiring`); operators come from ``host`` (default: the
    process's plugin host). Each operator is built on first use and reused."""
    from matterstack.plugins.host import get_plugin_host
    from matterstack.wiring.snapshot import load_run_wiring

    host = host or get_plugin_host()
    wiring = wiring or load_run_wiring(handle, host=host)

    def context() -> OperatorContext:
        return OperatorContext(run_id=handle.run_id, run_dir=handle.root_path,
                               workspace_slug=handle.workspace_slug, host=host)

    return OperatorRegistry(wiring, host, context)


def step_once(handle: RunHandle, campaign, registry=None, store=None) -> TickReport:
    """One tick under the run lock; returns what it did. ``RunLockedError`` if another
    process is stepping the run.

    A caller that ticks again and again may pass the run's open ``store`` (from
    ``StateStore.open``) and keep it between ticks: what it has read of the run is not read
    and decoded again.
    """
    from matterstack.store import RunLock, StateStore

    owned = registry is None
    registry = registry or build_registry(handle)
    try:
        with RunLock(handle.root_path):
            if store is not None:
                return tick(handle, campaign, store, registry)
            with StateStore.open(handle.db_path) as opened:
                return tick(handle, campaign, opened, registry)
    finally:
        if owned:
            registry.close()


def rerun_task(handle: RunHandle, task_id: str, *, recursive: bool = False, force: bool = False,
               time_limit_minutes: int | None = None, cores: int | None = None, memory_gb: int | None = None,
               gpus: int | None = None, registry=None):
    """Give ``task_id`` a new attempt, as ``matterstack rerun`` does; returns the
    :class:`~matterstack.orchestrator.control.ControlResult`.

    Resources given (not ``None``) become the task's own from its next attempt on; earlier
    attempts and their files stay as they are. ``recursive`` also reruns every task depending
    on it (with their own resources); ``force`` cancels an active attempt first. Bad values
    raise :class:`~matterstack.errors.ConfigError` before anything changes; a tick in another
    process gives :class:`~matterstack.errors.RunLockedError`.
    """
    from matterstack.orchestrator.control import check_resources, rerun

    resources = check_resources({"time_limit_minutes": time_limit_minutes, "cores": cores,
                                 "memory_gb": memory_gb, "gpus": gpus})
    owned = registry is None
    registry = registry or build_registry(handle)
    try:
        return rerun(handle, registry, task_id, recursive=recursive, force=force, resources=resources)
    finally:
        if owned:
            registry.close()


def step_run(handle: RunHandle, campaign, registry=None, *, operators_config=None, lifecycle_hooks=None,
             operator_registry=None) -> RunStatus:
    """One tick of the run; returns the run's status afterwards.

    ``operators_config``, the path of an operators.yaml, wires the run as
    ``--operators-config`` does (it ranks first, and is refused if the run's snapshot holds
    another file); ``lifecycle_hooks`` (see :mod:`matterstack.core.lifecycle`) are called for
    the attempts this tick changes. Give either ``registry`` or ``operators_config``.
    """
    from matterstack.orchestrator.lifecycle_observer import observing

    owned = registry is None
    registry = _registry_for(handle, registry, operators_config, operator_registry)
    try:
        with observing(registry.host, handle, lifecycle_hooks):
            return step_once(handle, campaign, registry).status
    finally:
        if owned:
            registry.close()


def _registry_for(handle: RunHandle, registry, operators_config, operator_registry) -> OperatorRegistry:
    """``registry`` if given, else one with the run's own wiring, or with ``operators_config``."""
    if operator_registry is not None:
        raise ConfigError(
            "operator_registry (0.2.x's dict of operator objects) is no longer taken",
            where="operator_registry argument",
            fix="wire operators in an operators.yaml and pass operators_config='path/to/operators.yaml'",
        )
    if registry is not None and operators_config is not None:
        raise ConfigError("both registry and operators_config were given", where="step_run arguments",
                          fix="give one of them: operators_config wires a registry from that file")
    if operators_config is None:
        return registry or build_registry(handle)
    if not isinstance(operators_config, (str, os.PathLike)):
        raise ConfigError(
            f"operators_config is a {type(operators_config).__name__}, not the path of an operators.yaml",
            where="operators_config argument",
            fix="pass the file's path, e.g. operators_config='operators.yaml'",
        )
    from matterstack.plugins.host import get_plugin_host
    from matterstack.wiring.snapshot import load_run_wiring

    host = get_plugin_host()
    return build_registry(handle, load_run_wiring(handle, operators_config=Path(operators_config), host=host),
                          host=host)


class IdleWait:
    """How long to wait before the next tick: not at all after a tick that did something
    (submitted, finished or planned); after ticks that found nothing to do, from
    :data:`FIRST_IDLE_WAIT` upwards, doubling, up to ``longest`` seconds. Short jobs are
    noticed within about their own duration, and an idle run is polled every ``longest``."""

    def __init__(self, longest: float, first: float = FIRST_IDLE_WAIT):
        self.longest = max(longest, 0.0)
        self.first = min(first, self.longest)
        self._next = self.first

    def after(self, report: TickReport) -> float:
        """The seconds to wait after ``report``'s tick."""
        if report.submitted or report.finished or report.planned:
            self._next = self.first
            return 0.0
        wait, self._next = self._next, min(self._next * 2, self.longest)
        return wait


def run_until_completion(handle: RunHandle, campaign, poll_interval: float = 1.0,
                         registry=None, *, operators_config=None, lifecycle_hooks=None,
                         operator_registry=None) -> RunStatus:
    """Tick until the run is COMPLETED, FAILED or CANCELLED; between ticks that did nothing
    new, wait as :class:`IdleWait` says, at most ``poll_interval`` seconds.

    ``operators_config`` and ``lifecycle_hooks`` are as for :func:`step_run`.
    """
    from matterstack.orchestrator.lifecycle_observer import observing
    from matterstack.store import StateStore

    registry = _registry_for(handle, registry, operators_config, operator_registry)
    idle = IdleWait(poll_interval)
    store = None  # kept open between ticks; opened once the first tick had the run lock
    try:
        with observing(registry.host, handle, lifecycle_hooks):
            while True:
                report = step_once(handle, campaign, registry, store)
                if report.status.is_terminal:
                    return report.status
                store = store or StateStore.open(handle.db_path)
                time.sleep(idle.after(report))
    finally:
        registry.close()
        if store is not None:
            store.close()
