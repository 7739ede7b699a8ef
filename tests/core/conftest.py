"""Shared fixtures for the pure model tests."""

from __future__ import annotations

from pathlib import Path

import pytest

LEGACY_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy-runs"


@pytest.fixture
def legacy_root() -> Path:
    """The run directories written by MatterStack 0.2.4/0.2.5/0.2.7 (read only)."""
    return LEGACY_FIXTURES
