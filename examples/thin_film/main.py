"""Thin-film campaign: a simulation, a lab synthesis, and a comparison of the two.

1. ``simulate`` (compute, ``local.default``) predicts each recipe's film thickness and sheet
   resistance with ``simulate.py`` and writes ``predictions.json``.
2. ``synthesize_<sample>``, one ``ExternalTask`` per recipe (routed to ``experiment.default``),
   asks the lab to deposit and measure the film. The recipe travels as ``request_data``, the
   instrument settings as ``EXPERIMENT_CONFIG``, a recipe sheet as a file. The lab answers
   with the measured ``data`` and a thickness profile (``thin_film_profile.csv``).
3. ``compare`` (compute) sets the measurements against the predictions (``compare.py``) and
   writes ``comparison.json``; ``analyze`` keeps it and ``plan`` returns ``None``.

    matterstack init examples/thin_film
    matterstack experiment agent --exchange-dir examples/thin_film/runs \\
        --driver matterstack_ops_experiment.simulated:thin_film &
    matterstack loop <run>
"""

import json
from pathlib import Path

from matterstack import Campaign, ExternalTask, FileFromContent, FileFromPath, Task, Workflow

HERE = Path(__file__).resolve().parent
RECIPES = [
    {"sample_id": "film-a", "deposition_time_s": 120, "temperature_c": 100},
    {"sample_id": "film-b", "deposition_time_s": 240, "temperature_c": 300},
]
INSTRUMENT = {"instrument": "sputter-1", "target": "Cu", "probe": "four-point"}


def synthesis_task_id(recipe):
    return "synthesize_" + recipe["sample_id"].replace("-", "_")


def recipe_sheet(recipe):
    """The human-readable sheet that travels with a request to the lab."""
    lines = [f"sample: {recipe['sample_id']}", "target: Cu (99.99 %)",
             f"deposition: {recipe['deposition_time_s']} s at {recipe['temperature_c']} C substrate",
             "measure: thickness and sheet resistance at 5 points across the wafer"]
    return "\n".join(lines) + "\n"


class ThinFilm(Campaign):
    def plan(self, state):
        state = state or {}
        if "predictions" not in state:
            return Workflow([Task(
                task_id="simulate",
                command="python3 simulate.py",
                files={"simulate.py": FileFromPath(HERE / "simulate.py"),
                       "recipes.json": FileFromContent(json.dumps(RECIPES, indent=2))},
            )])
        if "measured" not in state:
            return Workflow([
                ExternalTask(
                    task_id=synthesis_task_id(recipe),
                    request_data=recipe,
                    files={"recipe.txt": FileFromContent(recipe_sheet(recipe))},
                    env={"EXPERIMENT_CONFIG": json.dumps(INSTRUMENT)},
                )
                for recipe in RECIPES
            ])
        if "comparison" not in state:
            return Workflow([Task(
                task_id="compare",
                command="python3 compare.py",
                files={"compare.py": FileFromPath(HERE / "compare.py"),
                       "predictions.json": FileFromContent(json.dumps(state["predictions"], indent=2)),
                       "measured.json": FileFromContent(json.dumps(state["measured"], indent=2))},
            )])
        return None

    def analyze(self, state, results):
        state = dict(state or {})
        if "predictions" not in state:
            state["predictions"] = json.loads(Path(results["simulate"]["files"]["predictions.json"]).read_text())
        elif "measured" not in state:
            state["measured"] = {}
            for recipe in RECIPES:
                result = results[synthesis_task_id(recipe)]
                state["measured"][recipe["sample_id"]] = {
                    "status": result["status"],
                    "data": result["data"],
                    "profile": result["files"].get("thin_film_profile.csv"),
                }
        else:
            state["comparison"] = json.loads(Path(results["compare"]["files"]["comparison.json"]).read_text())
        return state


def get_campaign():
    return ThinFilm()
