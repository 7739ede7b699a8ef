"""MatterStack 0.2.x's ``matterstack.campaign``, kept for ``from matterstack.campaign import
Campaign``: the campaign class is :class:`matterstack.core.campaign.Campaign` (also
``matterstack.Campaign``)."""

from __future__ import annotations

from matterstack.lazy_names import lazy_getattr

_HOMES = {"Campaign": "matterstack.core.campaign"}
__all__ = sorted(_HOMES)

__getattr__ = lazy_getattr(__name__, globals(), _HOMES)
