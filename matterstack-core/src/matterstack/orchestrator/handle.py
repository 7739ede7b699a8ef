"""``RunHandle``: where a run lives, and the few files a tick reads and writes beside the
state database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs

from matterstack.atomic_write import write_atomic

CAMPAIGN_STATE_FILE = "campaign_state.json"


@attrs.frozen
class RunHandle:
    """A run on disk: ``root_path`` is the run directory ``<workspace>/runs/<run_id>``."""

    run_id: str
    workspace_slug: str
    root_path: Path = attrs.field(converter=Path)

    @property
    def db_path(self) -> Path:
        return self.root_path / "state.sqlite"

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

