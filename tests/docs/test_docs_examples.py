"""Every campaign shown in docs/ really runs: each fenced Python block that defines
``get_campaign`` becomes a workspace's main.py and goes through ``matterstack run``."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(r"```python\n(.*?)```", re.DOTALL)


def campaign_blocks():
    for page in sorted(DOCS.glob("*.md")):
        for number, block in enumerate(FENCE.findall(page.read_text()), start=1):
            if "def get_campaign" in block:
                yield pytest.param(block, id=f"{page.name}#{number}")


def test_docs_show_at_least_one_campaign():
    assert list(campaign_blocks()), "docs/ should show a runnable campaign"


@pytest.mark.parametrize("source", list(campaign_blocks()))
def test_campaign_from_docs_runs_to_completion(source, tmp_path, matterstack_command):
    workspace = tmp_path / "docs_example"
    workspace.mkdir()
    (workspace / "main.py").write_text(source)

    result = subprocess.run(
        [*matterstack_command, "run", str(workspace), "--interval", "0.05"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "COMPLETED" in result.stdout
