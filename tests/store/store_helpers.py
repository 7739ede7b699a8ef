"""Helpers for the state store tests: legacy fixtures copied to tmp_path, new runs, file checks."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from matterstack.core.records import Run

LEGACY_ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "legacy-runs"
EXPECTED_FILES = sorted(LEGACY_ROOT.glob("v*/expected/*.json"))


def expected_for(run_id: str) -> dict:
    """The README-documented content of a legacy run's database."""
    (path,) = [p for p in EXPECTED_FILES if p.stem == run_id]
    return json.loads(path.read_text())


def copy_legacy_db(run_id: str, tmp_path: Path) -> Path:
    """Copy one legacy run's state.sqlite into a writable run folder under tmp_path."""
    expected = expected_for(run_id)
    source = LEGACY_ROOT / expected["fixture"] / "state.sqlite"
    run_dir = tmp_path / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    target = run_dir / "state.sqlite"
    shutil.copyfile(source, target)
    target.chmod(0o644)
    return target


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def side_files(path: Path) -> list[str]:
    """SQLite's companion files next to ``path`` (there must be none after a refusal)."""
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name + "-"))


def new_run(run_id: str = "20270101_000000_0000abcd") -> Run:
    return Run(
        run_id=run_id,
        workspace_slug="demo",
        root_path=f"workspaces/demo/runs/{run_id}",
        created_at=datetime(2027, 1, 1, tzinfo=timezone.utc),
    )
