"""Reading the wiring's YAML files (operators.yaml, profile files): safe loading only, a key
written twice in one mapping refused, and every problem one :class:`ConfigError` naming the
file and, for syntax errors, the line (``operators.yaml:7: ...``)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from matterstack.errors import ConfigError
from matterstack.input_limits import CONFIG_FILE_LIMIT, read_within_limit

_MERGE_TAG = "tag:yaml.org,2002:merge"
_SYNTAX_FIX = "fix the YAML at that line (indentation, a missing ':' or quote)"


@functools.cache
def _strict_loader() -> type:
    """``yaml.SafeLoader`` that refuses a key written twice in one mapping (PyYAML keeps the
    last one silently, which would hide a mistyped instance). Built on first use, so a tick
    without any YAML to read does not import PyYAML."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen: set = set()
                for key_node, _ in node.value:
                    if key_node.tag == _MERGE_TAG:
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        repeated = key in seen
                    except TypeError:  # an unhashable key: the base class reports it
                        continue
                    if repeated:
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping", node.start_mark, f"found key {key!r} twice", key_node.start_mark
                        )
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


def load_yaml_bytes(data: bytes, *, filename: str) -> Any:
    """The document in ``data``, read from ``filename`` (used in error messages only)."""
    import yaml

    try:
        return yaml.load(data, Loader=_strict_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        where = f"{filename}:{mark.line + 1}" if mark is not None else filename
        column = f" (column {mark.column + 1})" if mark is not None else ""
        raise ConfigError(f"invalid YAML: {problem}{column}", where=where, fix=_SYNTAX_FIX) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", where=filename, fix="save the file as UTF-8 text") from None
    except (ValueError, OverflowError, RecursionError) as exc:
        # e.g. a date-like scalar that is no date (2024-13-45), or absurd nesting
        raise ConfigError(f"invalid YAML value: {type(exc).__name__}: {exc}", where=filename,
                          fix="quote the value to keep it as text") from None


def read_file_bytes(path: Path, *, what: str, fix: str) -> bytes:
    """The bytes of ``path``; ConfigError (``what`` not found or unreadable, with ``fix``)
    otherwise, and :class:`~matterstack.input_limits.InputLimitError` when it is over the
    limit for configuration files (parsing YAML costs far more than its size)."""
    try:
        return read_within_limit(path, CONFIG_FILE_LIMIT)
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", where=str(path), fix=fix) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror or exc}", where=str(path), fix=fix) from None
