"""MatterStack 0.2.x's ``build_evidence_bundle``/``export_evidence_bundle``, which built a
pydantic ``EvidenceBundle`` from ``SQLiteStateStore``."""

from matterstack.legacy_imports import gone

raise gone(
    __name__,
    "`matterstack export-evidence RUN` writes <run>/evidence/bundle.json (0.2.x's keys included) and "
    "report.md; read the JSON file",
)
