"""The campaign: the user's code that proposes work and digests results.

Workspaces written for MatterStack 0.2.x import ``Campaign`` from here; that path is kept.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matterstack.core.workflow import Workflow


class Campaign(abc.ABC):
    """A campaign is stateless: the framework keeps its state (``campaign_state.json``).

    Each iteration the orchestrator calls :meth:`plan` with the current state; once every
    task of that workflow has finished it calls :meth:`analyze` and stores what it returns.
    """

    @abc.abstractmethod
    def plan(self, state: dict[str, Any] | None) -> Workflow | None:
        """The next iteration's workflow, or ``None`` to end the run.

        ``state`` is ``None`` at the first iteration.
        """

    @abc.abstractmethod
    def analyze(self, state: dict[str, Any] | None, results: dict[str, Any]) -> dict[str, Any]:
        """Digest ``results`` and return the new state (a JSON-able dict).

        ``results`` is ``{task_id: {"status": str, "files": {name: path}, "data": {...}}}``
        for every task of the run, taken from each task's current attempt.
        """
