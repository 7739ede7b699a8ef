"""MatterStack 0.2.x's ``EvidenceBundle`` model; the bundle is a file now."""

from matterstack.legacy_imports import gone

raise gone(
    __name__,
    "`matterstack export-evidence RUN` writes <run>/evidence/bundle.json (0.2.x's keys included) "
    "and report.md; read the JSON file",
)
