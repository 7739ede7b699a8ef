"""An attempt whose local job never started (its wrapper found the claim ``.matterstack``
empty, as a full disk leaves it) is not stuck for ever (issue 16, defect 4): past the bound
of "starting" the same attempt is submitted again, runs once and completes."""

from __future__ import annotations

import os
import time

from e2e_kit import ok

# The task stages an empty ``.matterstack`` into its work directory: its wrapper then finds
# the job claimed without a pid, exactly what a wrapper that could not write its pid leaves.
EMPTY_CLAIM = """
    from matterstack import Campaign, Task, Workflow

    class EmptyClaim(Campaign):
        def plan(self, state):
            if state is not None:
                return None
            return Workflow([Task(task_id="job", command="echo ran >> runs.txt", files={".matterstack": ""})])

        def analyze(self, state, results):
            return {"done": sorted(results)}

    def get_campaign():
        return EmptyClaim()
"""


def test_an_attempt_whose_job_never_started_is_submitted_again_past_the_bound_and_runs_once(project):
    # given a run whose job's claim is empty and no wrapper of it is alive
    project.add_workspace("claim", EMPTY_CLAIM)
    run_id = project.init("claim")
    ok(project.matterstack("step", run_id))
    (attempt,) = project.attempts(run_id)
    attempt_dir = project.run_dir(run_id) / attempt["relative_path"]
    claim = attempt_dir / ".matterstack"
    time.sleep(0.5)
    ok(project.matterstack("step", run_id))
    assert project.attempts(run_id)[0]["status"] == "SUBMITTED" and claim.read_text() == ""

    # when the claim is older than the bound of "starting" (60 s) and the run is stepped on
    then = time.time() - 61
    os.utime(claim, (then, then))
    project.step_until(run_id, lambda: project.run_status(run_id) == "COMPLETED")

    # then the same attempt ran, once
    (attempt,) = project.attempts(run_id)
    assert attempt["status"] == "COMPLETED"
    assert (attempt_dir / "runs.txt").read_text() == "ran\n"
    assert (attempt_dir / ".matterstack-relaunched").exists()
