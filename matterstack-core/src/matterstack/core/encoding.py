"""The cattrs-free half of the stored encodings: ``Task.files`` values (timestamps are
:mod:`matterstack.core.times`).

Split from :mod:`matterstack.core.convert` so that the store reads a tick's rows (its fast
paths need only these) without importing cattrs and building its converter.

* ``files`` values: inline text stays text; ``FileFromContent`` →
  ``{"__file__": "content", "content": ...}``; ``FileFromPath`` →
  ``{"__file__": "path", "source_path": ...}``; inline text that a reader would take for a
  0.2.x repr is written as ``{"__file__": "inline", "content": ...}`` so it stays text.
"""

from __future__ import annotations

import ast
import re

from matterstack.core.workflow import FileFromContent, FileFromPath, FileSpec
from matterstack.errors import WorkflowError

_FILE_MARK = "__file__"
_LEGACY_CONTENT = re.compile(r"content=(?P<literal>'.*'|\".*\")", re.DOTALL)
_LEGACY_PATH = re.compile(r"source_path=(?:Posix|Windows)?Path\((?P<literal>'.*'|\".*\")\)", re.DOTALL)


def file_to_record(value: FileSpec) -> str | dict[str, str]:
    """The stored form of one ``Task.files`` value."""
    if isinstance(value, FileFromContent):
        return {_FILE_MARK: "content", "content": value.content}
    if isinstance(value, FileFromPath):
        return {_FILE_MARK: "path", "source_path": str(value.source_path)}
    if _legacy_file(value) is not None:
        return {_FILE_MARK: "inline", "content": value}
    return value


def file_from_record(value: object, *, task_id: str = "?", name: str = "?") -> FileSpec:
    """One ``Task.files`` value from its stored form (ours or a 0.2.x repr string)."""
    if isinstance(value, str):
        legacy = _legacy_file(value)
        return value if legacy is None else legacy
    if isinstance(value, dict):
        mark = value.get(_FILE_MARK)
        if mark == "content" and isinstance(value.get("content"), str):
            return FileFromContent(value["content"])
        if mark == "path" and isinstance(value.get("source_path"), str):
            return FileFromPath(value["source_path"])
        if mark == "inline" and isinstance(value.get("content"), str):
            return value["content"]
    raise WorkflowError(f"file {name!r} has an unreadable stored value {value!r}", where=f"task {task_id!r}")


def _legacy_file(text: str) -> FileFromContent | FileFromPath | None:
    for pattern, build in ((_LEGACY_CONTENT, FileFromContent), (_LEGACY_PATH, FileFromPath)):
        match = pattern.fullmatch(text)
        if match is None:
            continue
        try:
            literal = ast.literal_eval(match["literal"])
        except (ValueError, SyntaxError):
            return None
        return build(literal) if isinstance(literal, str) else None
    return None
