"""Models that help a campaign choose what to try next.

Workspaces written for MatterStack 0.2.x import ``Surrogate`` and ``RandomSurrogate`` from
``matterstack.ai.surrogate``; that path is kept.
"""
