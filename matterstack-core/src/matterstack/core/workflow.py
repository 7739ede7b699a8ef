"""Tasks and workflows: what a campaign proposes for one iteration.

Workspaces written for MatterStack 0.2.x import ``Task``, ``Workflow``, ``FileFromPath`` and
``FileFromContent`` from here; that import path is kept.

A task's ``files`` map a relative destination path to one of:

* ``str``: inline content, written literally;
* :class:`FileFromContent`: the same, said explicitly;
* :class:`FileFromPath` (or a ``pathlib.Path``, which becomes one): a file to copy.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePath
from types import MappingProxyType
from typing import Any, ClassVar, Union

import attrs

from matterstack.core.ids import IssuedIds
from matterstack.errors import WorkflowError

DOWNLOAD_PATTERN_KINDS = ("include", "exclude")


@attrs.frozen
class FileFromPath:
    """Stage a task file by copying ``source_path``."""

    source_path: Path = attrs.field(converter=Path)


@attrs.frozen
class FileFromContent:
    """Stage a task file whose content is ``content``."""

    content: str = attrs.field()

    @content.validator
    def _check_content(self, attribute: attrs.Attribute, value: object) -> None:
        if not isinstance(value, str):
            raise WorkflowError(f"FileFromContent content must be text, got {type(value).__name__}")


FileSpec = Union[str, FileFromContent, FileFromPath]
"""What a value of ``Task.files`` may be once the task is built."""


_TASK_IDS = IssuedIds()


def new_task_id() -> str:
    """A fresh task id, ``YYYYMMDD_HHMMSS_<8 hex>`` as MatterStack 0.2.6 generated them, so
    ``tasks/`` lists in creation order (to the second); never repeated within a process."""
    return _TASK_IDS.new()


def _to_files(value: Any) -> Any:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        return value
    return {
        key: FileFromPath(item) if isinstance(item, PurePath) else item
        for key, item in value.items()
    }


def _to_env(value: Any) -> Any:
    if value is None:
        return {}
    return dict(value) if isinstance(value, Mapping) else value


def _to_dependencies(value: Any) -> Any:
    if value is None:
        return set()
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return value
    return set(value)


def _to_download_patterns(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return {"include": list(value)}
    if isinstance(value, Mapping):
        return {
            kind: list(globs) if isinstance(globs, (list, tuple)) else globs
            for kind, globs in value.items()
        }
    return value


def _fail(task: Task, what: str, fix: str | None = None) -> WorkflowError:
    return WorkflowError(what, where=f"task {task.task_id!r}", fix=fix)


def _check_task_id(task: Task, attribute: attrs.Attribute, value: object) -> None:
    # The id names the task's folder (tasks/<task_id>/), so it must be one safe path segment.
    if not isinstance(value, str) or not value:
        raise WorkflowError(f"task_id must be non-empty text, got {value!r}")
    if value in (".", "..") or any(char in value for char in "/\\\x00"):
        raise WorkflowError(
            f"task_id {value!r} must be usable as a folder name",
            fix="use letters, digits, '_', '-' or '.', without '/' and not '.' or '..'",
        )


def _check_text(task: Task, attribute: attrs.Attribute, value: object) -> None:
    if not isinstance(value, str):
        raise _fail(task, f"{attribute.name} must be text, got {type(value).__name__}")


def _check_optional_text(task: Task, attribute: attrs.Attribute, value: object) -> None:
    if value is not None:
        _check_text(task, attribute, value)


def _check_flag(task: Task, attribute: attrs.Attribute, value: object) -> None:
    if not isinstance(value, bool):
        raise _fail(task, f"{attribute.name} must be True or False, got {value!r}")


def _check_count(task: Task, attribute: attrs.Attribute, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(task, f"{attribute.name} must be a whole number >= 0 or None, got {value!r}")


def check_file_key(key: object, task_id: str) -> None:
    """Raise :class:`WorkflowError` unless ``key`` is a safe relative path inside a work dir."""
    where = f"task {task_id!r}"
    fix = "use a relative path such as 'inputs/params.json'"
    if not isinstance(key, str) or not key:
        raise WorkflowError(f"file name {key!r} must be non-empty text", where=where, fix=fix)
    if key.startswith(("/", "\\")) or PurePath(key).is_absolute() or "\x00" in key:
        raise WorkflowError(f"file name {key!r} must be a relative path", where=where, fix=fix)
    for segment in key.split("/"):
        if segment == "..":
            raise WorkflowError(
                f"file name {key!r} may not contain '..'", where=where, fix=fix
            )
        if segment in ("", "."):
            raise WorkflowError(
                f"file name {key!r} has an empty or '.' path segment", where=where, fix=fix
            )


def _check_files(task: Task, attribute: attrs.Attribute, value: object) -> None:
    if not isinstance(value, dict):
        raise _fail(task, f"files must be a mapping of file name to content or path, got {value!r}")
    for key, item in value.items():
        check_file_key(key, task.task_id)
        if not isinstance(item, (str, FileFromContent, FileFromPath)):
            raise _fail(
                task,
                f"file {key!r} must be text, a Path, FileFromPath or FileFromContent, "
                f"got {type(item).__name__}",
            )


def _check_env(task: Task, attribute: attrs.Attribute, value: object) -> None:
    if not isinstance(value, dict):
        raise _fail(task, f"env must be a mapping of text to text, got {value!r}")
    for name, item in value.items():
        if not isinstance(name, str) or not name or not isinstance(item, str):
            raise _fail(
                task,
                f"env entry {name!r}: {item!r} must map a non-empty name to text",
                fix="convert numbers to text, e.g. str(4)",
            )


def _check_dependencies(task: Task, attribute: attrs.Attribute, value: object) -> None:
    if not isinstance(value, set) or not all(isinstance(dep, str) and dep for dep in value):
        raise _fail(task, f"dependencies must be a set of task ids, got {value!r}")


def _check_download_patterns(task: Task, attribute: attrs.Attribute, value: object) -> None:
    if value is None:
        return
    fix = "e.g. {'include': ['*.json'], 'exclude': ['*.tmp']}"
    if not isinstance(value, dict) or not set(value) <= set(DOWNLOAD_PATTERN_KINDS):
        raise _fail(task, f"download_patterns must map 'include'/'exclude' to globs, got {value!r}", fix)
    for kind, globs in value.items():
        if not isinstance(globs, list) or not all(isinstance(glob, str) for glob in globs):
            raise _fail(task, f"download_patterns[{kind!r}] must be a list of globs, got {globs!r}", fix)


@attrs.define
class Task:
    """One logical step of a campaign.

    ``task_id`` defaults to a fresh id; ``image`` is optional metadata. ``files`` map relative
    destination paths to inline text, :class:`FileFromContent` or :class:`FileFromPath` (a
    ``Path`` becomes a ``FileFromPath``). ``download_patterns`` is ``None`` or
    ``{"include": [globs], "exclude": [globs]}`` (a plain list means include-only).
    ``operator_key`` pins the operator instance; see
    :func:`matterstack.core.operator_key.route_new_task` for the full routing precedence.
    """

    task_type: ClassVar[str] = "Task"
    """The name stored in the ``tasks.task_type`` column."""
    default_operator_key: ClassVar[str | None] = None
    """Where this type of task goes when neither the task nor its env names a key."""

    task_id: str = attrs.field(factory=new_task_id, validator=_check_task_id)
    image: str = attrs.field(default="", validator=_check_text)
    command: str = attrs.field(default="", validator=_check_text)
    files: dict[str, FileSpec] = attrs.field(factory=dict, converter=_to_files, validator=_check_files)
    env: dict[str, str] = attrs.field(factory=dict, converter=_to_env, validator=_check_env)
    dependencies: set[str] = attrs.field(
        factory=set, converter=_to_dependencies, validator=_check_dependencies
    )
    cores: int | None = attrs.field(default=None, validator=_check_count)
    memory_gb: int | None = attrs.field(default=None, validator=_check_count)
    gpus: int | None = attrs.field(default=None, validator=_check_count)
    time_limit_minutes: int | None = attrs.field(default=None, validator=_check_count)
    allow_failure: bool = attrs.field(default=False, validator=_check_flag)
    allow_dependency_failure: bool = attrs.field(default=False, validator=_check_flag)
    download_patterns: dict[str, list[str]] | None = attrs.field(
        default=None, converter=_to_download_patterns, validator=_check_download_patterns
    )
    operator_key: str | None = attrs.field(default=None, validator=_check_optional_text)


def anchor_file_sources(tasks: Iterable[Task], workspace: Path) -> list[Task]:
    """``tasks`` with each relative :class:`FileFromPath` source made absolute under the
    workspace folder, so where a file comes from never depends on the folder ``step`` runs
    in. Tasks with none are returned as they are; the others are copies (the campaign's own
    objects are left alone). ``~`` paths are the user's home, not relative."""
    anchored = []
    for task in tasks:
        relative = {key: FileFromPath(workspace / spec.source_path) for key, spec in task.files.items()
                    if isinstance(spec, FileFromPath) and not spec.source_path.expanduser().is_absolute()}
        anchored.append(attrs.evolve(task, files={**task.files, **relative}) if relative else task)
    return anchored


@attrs.define(init=False, repr=False)
class Workflow:
    """The tasks of one iteration, in insertion order.

    Dependencies may name tasks of an earlier iteration of the run, which are not in this
    workflow; :meth:`validate` is told which ids the run already has.
    """

    _tasks: dict[str, Task]

    def __init__(self, tasks: Iterable[Task] = ()) -> None:
        self.__attrs_init__({})
        self.add_tasks(tasks)

    def __repr__(self) -> str:
        return f"Workflow(tasks={list(self._tasks)!r})"

    def add_task(self, task: Task) -> Task:
        """Add ``task``; a second task with the same id is a :class:`WorkflowError`."""
        if not isinstance(task, Task):
            raise WorkflowError(f"add_task expects a Task, got {type(task).__name__}")
        if task.task_id in self._tasks:
            raise WorkflowError(
                f"duplicate task id {task.task_id!r} in workflow",
                fix="give every task of an iteration its own task_id",
            )
        self._tasks[task.task_id] = task
        return task

    def add_tasks(self, tasks: Iterable[Task]) -> None:
        """Add each of ``tasks`` in order."""
        for task in tasks:
            self.add_task(task)

    def __iter__(self) -> Iterator[Task]:
        return iter(list(self._tasks.values()))

    def __len__(self) -> int:
        return len(self._tasks)

    def __contains__(self, item: object) -> bool:
        task_id = item.task_id if isinstance(item, Task) else item
        return task_id in self._tasks

    def get(self, task_id: str) -> Task | None:
        """The task with ``task_id``, or ``None``."""
        return self._tasks.get(task_id)

    @property
    def tasks(self) -> Mapping[str, Task]:
        """Read-only view ``{task_id: task}`` (the 0.2.x attribute)."""
        return MappingProxyType(self._tasks)

    def topological_order(self) -> list[Task]:
        """Tasks with every dependency before its dependents.

        Stable: among tasks that are ready at the same time, insertion order wins.
        Dependencies outside this workflow do not constrain the order. A cycle raises
        :class:`WorkflowError` naming it (``a -> b -> a``: ``a`` depends on ``b``...).
        """
        ids = list(self._tasks)
        position = {task_id: index for index, task_id in enumerate(ids)}
        waiting_on = {
            task_id: {dep for dep in task.dependencies if dep in self._tasks}
            for task_id, task in self._tasks.items()
        }
        dependents: dict[str, list[str]] = {task_id: [] for task_id in ids}
        for task_id, deps in waiting_on.items():
            for dep in deps:
                dependents[dep].append(task_id)
        ready = [position[task_id] for task_id, deps in waiting_on.items() if not deps]
        heapq.heapify(ready)
        order: list[Task] = []
        while ready:
            task_id = ids[heapq.heappop(ready)]
            order.append(self._tasks[task_id])
            for child in dependents[task_id]:
                waiting_on[child].discard(task_id)
                if not waiting_on[child]:
                    heapq.heappush(ready, position[child])
        if len(order) < len(ids):
            cycle = " -> ".join(_find_cycle(ids, waiting_on))
            raise WorkflowError(
                f"workflow has a dependency cycle: {cycle}",
                fix="remove one of the dependencies in the cycle",
            )
        return order

    def get_topo_sorted_tasks(self) -> list[Task]:
        """0.2.x name of :meth:`topological_order`."""
        return self.topological_order()

    def validate(self, known_task_ids: Iterable[str] = ()) -> None:
        """Check that every dependency exists and that there is no cycle.

        ``known_task_ids`` are the ids the run already holds from earlier iterations.
        """
        known = set(known_task_ids)
        for task in self._tasks.values():
            for dep in sorted(task.dependencies):
                if dep not in self._tasks and dep not in known:
                    raise WorkflowError(
                        f"depends on unknown task {dep!r}",
                        where=f"task {task.task_id!r}",
                        fix="add that task to this workflow or to an earlier iteration",
                    )
        if not self._acyclic():
            self.topological_order()  # raises, naming the cycle

    def _acyclic(self) -> bool:
        """Whether the tasks can be ordered at all: Kahn's count without the stable order and
        the sets :meth:`topological_order` builds (a third of its cost on a plan of 100,000)."""
        tasks = self._tasks
        waiting: dict[str, int] = {}
        dependents: dict[str, list[str]] = {}
        for task_id, task in tasks.items():
            inside = [dep for dep in task.dependencies if dep in tasks]
            waiting[task_id] = len(inside)
            for dep in inside:
                dependents.setdefault(dep, []).append(task_id)
        ready = [task_id for task_id, count in waiting.items() if not count]
        placed = 0
        while ready:
            task_id = ready.pop()
            placed += 1
            for child in dependents.get(task_id, ()):
                waiting[child] -= 1
                if not waiting[child]:
                    ready.append(child)
        return placed == len(tasks)


def _find_cycle(ids: list[str], waiting_on: dict[str, set[str]]) -> list[str]:
    # Every task left waiting has an unplaced dependency, so following the first one
    # (in insertion order) from any of them must come back to a task already on the path.
    position = {task_id: index for index, task_id in enumerate(ids)}
    current = next(task_id for task_id in ids if waiting_on[task_id])
    path: list[str] = []
    while current not in path:
        path.append(current)
        current = min(waiting_on[current], key=position.__getitem__)
    return path[path.index(current):] + [current]
