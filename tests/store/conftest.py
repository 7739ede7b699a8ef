"""Fixtures of the state store tests."""

from __future__ import annotations

import pytest
from store_helpers import EXPECTED_FILES


@pytest.fixture(params=[p.stem for p in EXPECTED_FILES])
def legacy_run_id(request) -> str:
    """Each legacy run id in turn."""
    return request.param
