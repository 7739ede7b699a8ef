"""Active learning of protective coatings, written for MatterStack 0.2.x.

Each round a surrogate ranks the untried compositions; the best two are simulated locally,
then measured in the lab (an ExternalTask). After two rounds a person approves the best one.
"""
from matterstack import Campaign, Task, Workflow, initialize_run, run_until_completion

import json
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

from pydantic import BaseModel, Field

from matterstack.ai.surrogate import RandomSurrogate
from matterstack.core.external import ExternalTask
from matterstack.core.gate import GateTask

HERE = Path(__file__).resolve().parent
COMPOSITIONS = {f"c{n}": [n / 10, 1 - n / 10] for n in range(8)}
ROUNDS, BATCH = 2, 2


class CoatingState(BaseModel):
    round: int = 0
    measured: Dict[str, float] = Field(default_factory=dict)
    simulated: Dict[str, float] = Field(default_factory=dict)
    best: Optional[str] = None
    approved: Optional[bool] = None


class CoatingCampaign(Campaign):
    def plan(self, state):
        state = CoatingState.model_validate(state) if state is not None else CoatingState()
        if state.approved is not None:
            return None
        if state.round >= ROUNDS:
            wf = Workflow()
            wf.add_task(GateTask(task_id="approve_best", message=f"Scale up coating {state.best}?"))
            return wf
        return self._round(state)

    def _round(self, state: CoatingState) -> Workflow:
        untried = [name for name in COMPOSITIONS if name not in state.measured]
        surrogate = RandomSurrogate(seed=42 + state.round)
        surrogate.fit([COMPOSITIONS[n] for n in state.measured], list(state.measured.values()))
        scores = surrogate.predict([COMPOSITIONS[n] for n in untried])
        chosen = [name for _, name in sorted(zip(scores, untried), reverse=True)[:BATCH]]
        wf = Workflow()
        for name in chosen:
            x, y = COMPOSITIONS[name]
            wf.add_task(Task(task_id=f"sim_{name}",
                             command=f"python3 -c 'print({x * 3 + y:.3f})' > hardness.txt"))
            wf.add_task(ExternalTask(task_id=f"lab_{name}", request_data={"composition": name, "x": x},
                                     dependencies={f"sim_{name}"}))
        return wf

    def analyze(self, state, results):
        state = CoatingState.model_validate(state) if state is not None else CoatingState()
        for task_id, result in results.items():
            if result["status"] != "COMPLETED":
                continue
            if task_id.startswith("sim_") and task_id[4:] not in state.simulated:
                state.simulated[task_id[4:]] = float(Path(result["files"]["hardness.txt"]).read_text())
            if task_id.startswith("lab_") and task_id[4:] not in state.measured:
                state.measured[task_id[4:]] = float(result["data"]["adhesion"])
        if "approve_best" in results:
            state.approved = bool(results["approve_best"]["data"].get("approved"))
        else:
            state.round += 1
            state.best = max(state.measured, key=state.measured.get)
        return state


def get_campaign():
    return CoatingCampaign()


def simulated_lab(runs: Path, stop: threading.Event) -> None:
    """Answer every experiment request under ``runs`` with a measured adhesion."""
    while not stop.is_set():
        for request in runs.glob("*/tasks/*/attempts/*/experiment_request.json"):
            result = request.with_name("experiment_result.json")
            if result.exists():
                continue
            asked = json.loads(request.read_text())
            x = asked["request_data"]["x"]
            answer = {"status": "COMPLETED", "data": {"adhesion": round(10 * x * (1 - x), 3)}}
            partial = result.with_name(".experiment_result.tmp")
            partial.write_text(json.dumps(answer))
            partial.rename(result)
        time.sleep(0.05)


if __name__ == "__main__":
    stop = threading.Event()
    lab = threading.Thread(target=simulated_lab, args=(HERE / "runs", stop), daemon=True)
    lab.start()
    campaign = get_campaign()
    handle = initialize_run("coatings_active_learning", campaign, base_path=HERE.parent)
    print(f"Run {handle.run_id} at {handle.root_path}", flush=True)
    status = run_until_completion(handle, campaign, poll_interval=0.1)
    stop.set()
    print(f"Finished: {status.value}", flush=True)
    sys.exit(0 if status == "COMPLETED" else 1)
