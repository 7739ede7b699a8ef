"""Gate tasks: a step that waits for a person's approval.

Workspaces written for MatterStack 0.2.x import ``GateTask`` from here; that path is kept,
and so is 0.2.x's job wrapper: ``GateTaskWrapper`` (see :mod:`matterstack.file_handshake`),
run by ``python -m matterstack.core.gate '<json>'``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from matterstack.core.workflow import Task

INSTRUCTIONS_ENV_VAR = "INSTRUCTIONS"
"""The env entry operators for people show as the request's instructions."""


@attrs.define(init=False)
class GateTask(Task):
    """An approval: routed to ``human.default`` unless the task names another key.

    Takes every :class:`Task` argument plus ``message``, the instructions shown to the
    person, which is kept in ``env["INSTRUCTIONS"]`` so that it is stored with the task.
    """

    task_type: ClassVar[str] = "GateTask"
    default_operator_key: ClassVar[str | None] = "human.default"

    def __init__(self, *args: Any, message: str | None = None, **kwargs: Any) -> None:
        self.__attrs_init__(*args, **kwargs)
        if message is not None:
            self.message = message

    @property
    def message(self) -> str | None:
        """The instructions shown to the person (``env["INSTRUCTIONS"]``)."""
        return self.env.get(INSTRUCTIONS_ENV_VAR)

    @message.setter
    def message(self, value: str) -> None:
        # Assigning a new dict (rather than mutating) runs the env validator.
        self.env = {**self.env, INSTRUCTIONS_ENV_VAR: value}


def __getattr__(name: str) -> Any:
    # The wrapper runs inside jobs; importing it lazily keeps this module free of file I/O.
    if name == "GateTaskWrapper":
        from matterstack.file_handshake import GateTaskWrapper

        return GateTaskWrapper
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    """``python -m matterstack.core.gate '<json>'``: write the instructions, wait for a decision."""
    import sys

    from matterstack.file_handshake import GateTaskWrapper, command_main

    return command_main("matterstack.core.gate", GateTaskWrapper, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
