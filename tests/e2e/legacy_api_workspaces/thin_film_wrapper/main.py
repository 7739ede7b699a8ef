"""Thin-film deposition, written for MatterStack 0.2.x.

Each deposition is an ExternalTask run as a local job: 0.2.x's wrapper
(``python3 -m matterstack.core.external``) writes ``request.json`` in the job's folder and
waits for the deposition rig to answer with ``response.json``. A person then signs off
the batch (a task routed with 0.2.x's ``MATTERSTACK_OPERATOR=Human``).
"""
from matterstack import Campaign, Task, Workflow, initialize_run, run_until_completion

import json
import threading
import time
from pathlib import Path
from typing import Dict, Optional

from pydantic import BaseModel, Field

from matterstack.ai.surrogate import RandomSurrogate
from matterstack.core.external import ExternalTask

HERE = Path(__file__).resolve().parent
RECIPES = {f"r{n}": [float(n), 300.0 + 25 * n] for n in range(5)}


class Measurement(BaseModel):
    thickness_nm: float
    rig: str


class FilmState(BaseModel):
    films: Dict[str, Measurement] = Field(default_factory=dict)
    signed_off_by: Optional[str] = None


class ThinFilms(Campaign):
    def plan(self, state):
        state = FilmState.model_validate(state) if state is not None else FilmState()
        if state.signed_off_by:
            return None
        wf = Workflow()
        if not state.films:
            surrogate = RandomSurrogate()
            surrogate.fit([RECIPES["r0"]], [0.0])
            names = list(RECIPES)
            ranked = sorted(zip(surrogate.predict([RECIPES[n] for n in names]), names), reverse=True)
            for _, name in ranked[:2]:
                wf.add_task(ExternalTask(task_id=f"deposit_{name}", operator_key="local.default",
                                         request_data={"recipe": name, "temperature_k": RECIPES[name][1]},
                                         poll_interval=0.1, timeout_minutes=2))
            return wf
        wf.add_task(Task(task_id="sign_off", env={"MATTERSTACK_OPERATOR": "Human"},
                         command="echo sign-off"))
        return wf

    def analyze(self, state, results):
        state = FilmState.model_validate(state) if state is not None else FilmState()
        if "sign_off" in results:
            state.signed_off_by = results["sign_off"]["data"]["name"]
            return state
        for task_id, result in results.items():
            answer = json.loads(Path(result["files"]["response.json"]).read_text())
            state.films[task_id] = Measurement(thickness_nm=answer["thickness_nm"], rig=answer["rig"])
        return state


def get_campaign():
    return ThinFilms()


def deposition_rig(runs: Path, stop: threading.Event) -> None:
    """Answer each deposition request (``request.json`` in a job's folder) with ``response.json``."""
    while not stop.is_set():
        for request in runs.glob("*/tasks/*/attempts/*/request.json"):
            response = request.with_name("response.json")
            if not response.exists():
                asked = json.loads(request.read_text())
                answer = {"status": "success", "thickness_nm": asked["temperature_k"] / 10, "rig": "sputter-2"}
                partial = response.with_name(".response.tmp")
                partial.write_text(json.dumps(answer))
                partial.rename(response)
        time.sleep(0.05)


if __name__ == "__main__":
    stop = threading.Event()
    threading.Thread(target=deposition_rig, args=(HERE / "runs", stop), daemon=True).start()
    campaign = get_campaign()
    handle = initialize_run("thin_film_wrapper", campaign, base_path=HERE.parent)
    print(f"Run {handle.run_id} at {handle.root_path}", flush=True)
    status = run_until_completion(handle, campaign, poll_interval=0.1)
    stop.set()
    print(f"Finished: {status.value}", flush=True)
    raise SystemExit(0 if status == "COMPLETED" else 1)
