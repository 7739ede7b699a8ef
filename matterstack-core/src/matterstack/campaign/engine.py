"""MatterStack 0.2.x's first campaign engine (``plan()``, ``analyze(result)``, ``run()`` in
one process), which 0.2.x itself had replaced by runs."""

from matterstack.legacy_imports import gone

raise gone(
    __name__,
    "subclass matterstack.Campaign with plan(state) and analyze(state, results), define "
    "get_campaign() in main.py and run it with `matterstack run <workspace>`",
)
