"""MatterStack 0.2.x's ``Candidate``/``DesignSpace`` helpers, which nothing in a run used."""

from matterstack.legacy_imports import gone

raise gone(
    __name__,
    "keep candidates in your campaign state (dicts, dataclasses or pydantic models) and "
    "enumerate a design space with itertools.product",
)
