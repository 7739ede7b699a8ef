"""External tasks: a request answered from outside (a lab, a service, a person).

Workspaces written for MatterStack 0.2.x import ``ExternalTask`` from here; that path is
kept. As in 0.2.x, the task's command is derived from its request when the task is built,
``python3 -m matterstack.core.external '<json>'``, so the request is stored, readable,
in the ``tasks.command`` column and can be read back with :func:`external_request_from_command`.

Run as that command, this module writes the request and waits for the response
(:class:`~matterstack.file_handshake.ExternalTaskWrapper`, importable from here as in 0.2.x).
"""

from __future__ import annotations

import json
import shlex
from typing import Any, ClassVar

import attrs

from matterstack.core.workflow import Task
from matterstack.errors import WorkflowError

EXTERNAL_COMMAND_PREFIX = ("python3", "-m", "matterstack.core.external")
REQUEST_FIELDS = ("request_path", "response_path", "request_data", "poll_interval", "timeout_minutes")
"""The request settings carried in the command, in the order 0.2.x wrote them."""


def _to_request_data(value: Any) -> Any:
    return {} if value is None else value


@attrs.define
class ExternalTask(Task):
    """A request answered from outside: routed to ``experiment.default`` unless it names a key.

    ``request_data`` is the JSON-able request; ``request_path``/``response_path`` name the
    exchange files, ``poll_interval`` (seconds) and ``timeout_minutes`` how to wait. Any
    ``command`` passed in is replaced by the derived one.
    """

    task_type: ClassVar[str] = "ExternalTask"
    default_operator_key: ClassVar[str | None] = "experiment.default"

    request_data: dict[str, Any] = attrs.field(factory=dict, converter=_to_request_data)
    request_path: str = "request.json"
    response_path: str = "response.json"
    poll_interval: float = attrs.field(default=5.0, converter=float)
    timeout_minutes: int | None = 60

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.request_data, dict):
            raise WorkflowError(
                f"request_data must be a dict, got {type(self.request_data).__name__}",
                where=f"task {self.task_id!r}",
            )
        try:
            self.command = external_command(self.request_config())
        except (TypeError, ValueError) as error:
            raise WorkflowError(
                f"request_data must be JSON-serialisable: {error}",
                where=f"task {self.task_id!r}",
            ) from None

    def request_config(self) -> dict[str, Any]:
        """The request settings as 0.2.x serialised them into the command."""
        return {name: getattr(self, name) for name in REQUEST_FIELDS}


def external_command(config: dict[str, Any]) -> str:
    """The command line that carries ``config`` (see :meth:`ExternalTask.request_config`)."""
    return shlex.join([*EXTERNAL_COMMAND_PREFIX, json.dumps(config, allow_nan=False)])


def external_request_from_command(command: str) -> dict[str, Any] | None:
    """The request settings stored in an external task's command, or ``None`` if it has none."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if len(words) != len(EXTERNAL_COMMAND_PREFIX) + 1 or tuple(words[:-1]) != EXTERNAL_COMMAND_PREFIX:
        return None
    try:
        config = json.loads(words[-1])
    except json.JSONDecodeError:
        return None
    if not isinstance(config, dict):
        return None
    return {name: config[name] for name in REQUEST_FIELDS if name in config}


def __getattr__(name: str) -> Any:
    # The wrapper runs inside jobs; importing it lazily keeps this module free of file I/O.
    if name == "ExternalTaskWrapper":
        from matterstack.file_handshake import ExternalTaskWrapper

        return ExternalTaskWrapper
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    """``python -m matterstack.core.external '<json>'``: write the request, wait for the response."""
    import sys

    from matterstack.file_handshake import ExternalTaskWrapper, command_main

    return command_main("matterstack.core.external", ExternalTaskWrapper, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
