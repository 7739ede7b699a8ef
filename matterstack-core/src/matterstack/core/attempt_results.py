"""What a finished attempt brought back, as one typed value.

The tick records it in the attempt's ``operator_data`` under the keys MatterStack has always
used (``output_files``, ``output_data``, ``output_sha256``; ``collect_error`` alone when
collecting failed for good), and the campaign's results and the evidence bundle read it
back from there. Those keys are a stored format (the databases of earlier runs, and 0.2.x's,
hold them), so only this module spells them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

OUTPUT_FILES = "output_files"
OUTPUT_DATA = "output_data"
OUTPUT_SHA256 = "output_sha256"
COLLECT_ERROR = "collect_error"


@attrs.frozen
class AttemptResults:
    """Files by name (paths relative to the attempt directory), structured data, each file's
    sha256 by name; or, when collecting failed for good, why (``collect_error``)."""

    files: Mapping[str, str] = attrs.field(factory=dict)
    data: Mapping[str, Any] = attrs.field(factory=dict)
    sha256: Mapping[str, str] = attrs.field(factory=dict)
    collect_error: str | None = None

    def operator_data(self) -> dict[str, Any]:
        """The keys recorded into the attempt's ``operator_data``."""
        if self.collect_error is not None:
            return {COLLECT_ERROR: self.collect_error}
        return {OUTPUT_FILES: dict(self.files), OUTPUT_DATA: dict(self.data), OUTPUT_SHA256: dict(self.sha256)}

    @classmethod
    def recorded(cls, operator_data: Mapping[str, Any]) -> AttemptResults:
        """The results an attempt's ``operator_data`` holds (empty for an attempt that has none)."""
        return cls(files=dict(operator_data.get(OUTPUT_FILES) or {}), data=dict(operator_data.get(OUTPUT_DATA) or {}),
                   sha256=dict(operator_data.get(OUTPUT_SHA256) or {}), collect_error=operator_data.get(COLLECT_ERROR))
