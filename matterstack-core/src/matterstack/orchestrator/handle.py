"""``RunHandle``: where a run lives, and the few files a tick reads and writes beside the
state database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs

from matterstack.atomic_write import write_atomic

CAMPAIGN_STATE_FILE = "campaign_state.json"


def _absolute_path(value) -> Path:
    # A local job is started inside its attempt folder and told that folder's path: relative
    # (as 0.2.x's initialize_run returned it), the path pointed below itself and the job
    # never reported back.
    return Path(value).resolve()


@attrs.frozen
class RunHandle:
    """A run on disk: ``root_path`` is the run directory ``<workspace>/runs/<run_id>``.

    A relative ``root_path`` is made absolute once, against the current folder, when the
    handle is made.
    """

    run_id: str
    workspace_slug: str
    root_path: Path = attrs.field(converter=_absolute_path)

    @property
    def db_path(self) -> Path:
        return self.root_path / "state.sqlite"

    @property
    def config_path(self) -> Path:
        """The run's ``config.json`` (0.2.x's ``execution_mode`` and job cap; most runs have none)."""
        return self.root_path / "config.json"

    @property
    def operators_path(self) -> Path:
        """``<run>/operators``, where 0.2.x kept each operator's attempt folders; this
        MatterStack keeps them under ``<run>/tasks/<task_id>/attempts/``."""
        return self.root_path / "operators"

    @property
    def evidence_path(self) -> Path:
        """``<run>/evidence``, where ``export-evidence`` writes the bundle and the report."""
        return self.root_path / "evidence"

    @property
    def workspace_path(self) -> Path:
        """The workspace folder (``runs/``' parent), where ``main.py`` lives."""
        return self.root_path.parent.parent

    @classmethod
    def from_run_dir(cls, run_dir: Path, workspace_slug: str | None = None) -> "RunHandle":
        run_dir = Path(run_dir).resolve()
        return cls(run_id=run_dir.name, workspace_slug=workspace_slug or run_dir.parent.parent.name,
                   root_path=run_dir)

    def read_campaign_state(self) -> Any:
        """The dict ``analyze`` last returned, or ``None`` before the first analysis."""
        path = self.root_path / CAMPAIGN_STATE_FILE
        if not path.exists():
            return None
        return json.loads(path.read_text())

    def write_campaign_state(self, text: str) -> None:
        """Write ``campaign_state.json`` atomically (temp file + rename); ``text`` is what
        :func:`~matterstack.core.campaign_state.campaign_state_text` made of the state."""
        write_atomic(self.root_path / CAMPAIGN_STATE_FILE, text)

