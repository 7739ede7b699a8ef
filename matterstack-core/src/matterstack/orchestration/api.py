"""MatterStack 0.2.x's ``run_task``/``run_workflow``, which ran tasks on a backend object
outside any run; every task here belongs to a run."""

from matterstack.legacy_imports import gone

raise gone(
    __name__,
    "run_task/run_workflow ran tasks outside any run; return them from a Campaign's plan() and run it "
    "with `matterstack run <workspace>`, or matterstack.initialize_run + run_until_completion",
)
