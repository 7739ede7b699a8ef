"""Alloy screening with a metallurgist's review, written for MatterStack 0.2.x.

A surrogate picks three alloys; each is relaxed locally, then pulled in the tensile lab.
A metallurgist reviews the strengths and gives a verdict through response.json. Run from
the project folder: ``python workspaces/alloy_review/main.py``; it steps the run by hand
with its own operators.yaml and lifecycle hooks, as 0.2.x scripts did.
"""
from matterstack import Campaign, Task, Workflow, initialize_run, run_until_completion

import json
import logging
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

from pydantic import BaseModel, Field

from matterstack import RunHandle, step_run
from matterstack.ai.surrogate import RandomSurrogate
from matterstack.core.lifecycle import AttemptLifecycleHook, CompositeLifecycleHook, LoggingHook

HERE = Path(__file__).resolve().parent
ALLOYS = {"ti64": [6.0, 4.0], "al7075": [5.6, 2.5], "in718": [19.0, 3.0],
          "ss316": [17.0, 12.0], "cocr": [28.0, 6.0], "nitinol": [55.0, 45.0]}


class AlloyState(BaseModel):
    screened: List[str] = Field(default_factory=list)
    strengths: Dict[str, float] = Field(default_factory=dict)
    verdict: Optional[str] = None


class AlloyReview(Campaign):
    def plan(self, state):
        state = AlloyState.model_validate(state) if state is not None else AlloyState()
        if state.verdict is not None:
            return None
        wf = Workflow()
        if not state.screened:
            names = list(ALLOYS)
            surrogate = RandomSurrogate(seed=7)
            surrogate.fit([], [])
            scores = surrogate.predict([ALLOYS[n] for n in names])
            for _, name in sorted(zip(scores, names), reverse=True)[:3]:
                wf.add_task(Task(task_id=f"relax_{name}", operator_key="local.default",
                                 command=f"echo {ALLOYS[name][0]} > lattice.txt"))
                wf.add_task(Task(task_id=f"tensile_{name}", operator_key="experiment.default",
                                 env={"EXPERIMENT_CONFIG": json.dumps({"alloy": name})},
                                 dependencies={f"relax_{name}"}))
            return wf
        wf.add_task(Task(task_id="metallurgist_review", operator_key="human.default",
                         env={"INSTRUCTIONS": f"Strengths (MPa): {state.strengths}. Accept or reject?"}))
        return wf

    def analyze(self, state, results):
        state = AlloyState.model_validate(state) if state is not None else AlloyState()
        if "metallurgist_review" in results:
            state.verdict = results["metallurgist_review"]["data"]["verdict"]
            return state
        for task_id, result in results.items():
            if task_id.startswith("tensile_") and result["status"] == "COMPLETED":
                state.screened.append(task_id[len("tensile_"):])
                state.strengths[task_id[len("tensile_"):]] = result["data"]["strength_mpa"]
        return state


def get_campaign():
    return AlloyReview()


class JournalHook(AttemptLifecycleHook):
    """One line per lifecycle event in ``lifecycle.log`` beside main.py."""

    def __init__(self, path: Path):
        self.path = path

    def _write(self, *words) -> None:
        with self.path.open("a") as journal:
            journal.write(" ".join(str(w) for w in words) + "\n")

    def on_create(self, context):
        self._write("create", context.task_id, context.operator_key, context.attempt_index)

    def on_submit(self, context, external_id):
        self._write("submit", context.task_id)

    def on_complete(self, context, success):
        self._write("complete", context.task_id, success)

    def on_fail(self, context, error):
        self._write("fail", context.task_id, error)


def tensile_lab(runs: Path, stop: threading.Event) -> None:
    """Pull every sample asked for under ``runs``: strength from the alloy's composition."""
    while not stop.is_set():
        for request in runs.glob("*/tasks/*/attempts/*/experiment_request.json"):
            result = request.with_name("experiment_result.json")
            if not result.exists():
                alloy = json.loads(request.read_text())["config"]["alloy"]
                strength = 100 + 10 * sum(ALLOYS[alloy])
                partial = result.with_name(".result.tmp")
                partial.write_text(json.dumps({"status": "COMPLETED", "data": {"strength_mpa": strength}}))
                partial.rename(result)
        time.sleep(0.05)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    stop = threading.Event()
    threading.Thread(target=tensile_lab, args=(HERE / "runs", stop), daemon=True).start()
    campaign = get_campaign()
    started = initialize_run("alloy_review", campaign)  # base_path "workspaces", relative, as 0.2.x did
    # Looked up again as 0.2.x scripts did: a handle on the run's relative path.
    handle = RunHandle(workspace_slug="alloy_review", run_id=started.run_id,
                       root_path=Path("workspaces") / "alloy_review" / "runs" / started.run_id)
    print(f"Run {handle.run_id} at {handle.root_path}", flush=True)
    hooks = CompositeLifecycleHook([LoggingHook(), JournalHook(HERE / "lifecycle.log")])
    while True:
        status = step_run(handle, campaign, operators_config=HERE / "operators.yaml", lifecycle_hooks=hooks)
        if status in ("COMPLETED", "FAILED", "CANCELLED"):
            break
        time.sleep(0.1)
    stop.set()
    print(f"Finished: {status}", flush=True)
    raise SystemExit(0 if status == "COMPLETED" else 1)
