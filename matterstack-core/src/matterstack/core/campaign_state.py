"""What ``campaign_state.json`` holds: the text of whatever ``analyze`` returned.

MatterStack 0.2.x saved a pydantic model returned by ``analyze`` with ``model_dump_json()``
(compact, in the model's field order) and plain values with ``json.dumps``; it handed the
file back to the next ``analyze`` as plain JSON values. Both are kept as they were, so a
0.2.x campaign that keeps its state in a model runs unchanged.
"""

from __future__ import annotations

import json
from typing import Any


class CampaignStateError(TypeError):
    """``analyze`` returned something ``campaign_state.json`` cannot hold."""


def campaign_state_text(state: Any) -> str:
    """The text of ``campaign_state.json`` for ``state``.

    A pydantic model (anything with ``model_dump_json``) is written as the model writes
    itself; anything else must be plain JSON values (dict, list, str, numbers, bools, None).
    """
    dump = getattr(state, "model_dump_json", None)
    if callable(dump) and not isinstance(state, type):
        return dump()
    try:
        return json.dumps(state)
    except (TypeError, ValueError) as exc:
        raise CampaignStateError(
            f"analyze() returned {type(state).__name__} holding a value campaign_state.json cannot hold ({exc}); "
            "return plain JSON values (dict, list, str, numbers) or a pydantic model"
        ) from None
