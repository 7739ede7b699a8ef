"""Catalyst screening with a person in the loop.

Iteration 1 (``local.default``) scores candidate metals with a toy volcano (``score.py``).
Iteration 2 asks a person to approve a shortlist: a ``GateTask`` routed to ``human.default``
whose answer must contain ``keep`` (a list of metals, or a comma-separated string).
Iteration 3 refines only the approved metals (``refine.py``); ``analyze`` keeps the approval
data and the refined activities in ``campaign_state.json``. A rejection ends the campaign
without refining anything.

    matterstack init examples/catalyst
    matterstack loop <run> --max-ticks 20
    matterstack human list
    matterstack human respond <run> approve_shortlist --approve --data keep=Pt,Pd
    matterstack loop <run>

or answer on the page ``matterstack human serve`` prints, in a browser.
"""

import json
from pathlib import Path

from matterstack import Campaign, FileFromPath, GateTask, Task, Workflow

HERE = Path(__file__).resolve().parent
SHORTLIST_SIZE = 3

# d-band centres relative to the Fermi level (eV), rounded textbook values.
D_BAND_CENTRES = {"Pt": -2.25, "Pd": -1.83, "Ni": -1.29, "Cu": -2.67, "Au": -3.56, "Rh": -1.73, "Ir": -2.11}

APPROVAL_SCHEMA = {
    "type": "object",
    "required": ["keep"],
    "properties": {
        "keep": {
            "type": ["array", "string"],
            "items": {"type": "string"},
            "description": "the metals to refine: a list, or a comma-separated string",
        },
        "note": {"type": "string"},
    },
    "additionalProperties": False,
}


def kept_metals(keep, shortlist):
    """The approved metals that are on the shortlist (``keep`` is a list or ``"Pt,Pd"``)."""
    names = keep.split(",") if isinstance(keep, str) else keep
    return [name.strip() for name in names if name.strip() in shortlist]


class CatalystScreening(Campaign):
    def plan(self, state):
        state = state or {}
        if "shortlist" not in state:
            return self._propose()
        if "approval" not in state:
            return self._ask(state["shortlist"])
        if state["approved"] and "refined" not in state:
            return self._refine(state["approved"])
        return None

    def analyze(self, state, results):
        state = dict(state or {})
        if "shortlist" not in state:
            ranked = json.loads(Path(results["propose"]["files"]["candidates.json"]).read_text())
            state["scores"] = {row["metal"]: row["score"] for row in ranked}
            state["shortlist"] = [row["metal"] for row in ranked[:SHORTLIST_SIZE]]
        elif "approval" not in state:
            answer = results["approve_shortlist"]
            state["approval_status"] = answer["status"]
            state["approval"] = answer["data"]
            approved = answer["status"] == "COMPLETED"
            state["approved"] = kept_metals(answer["data"].get("keep", []), state["shortlist"]) if approved else []
        else:
            state["refined"] = {
                metal: json.loads(Path(results[f"refine_{metal.lower()}"]["files"]["result.json"]).read_text())
                for metal in state["approved"]
            }
        return state

    def _propose(self):
        return Workflow([Task(
            task_id="propose",
            command="python3 score.py",
            files={"score.py": FileFromPath(HERE / "score.py")},
            env={"D_BAND_CENTRES": json.dumps(D_BAND_CENTRES)},
        )])

    def _ask(self, shortlist):
        return Workflow([GateTask(
            task_id="approve_shortlist",
            message=(f"The volcano shortlist is {', '.join(shortlist)}. Which of them should be refined? "
                     f"Answer with keep=<metals>, e.g. keep={','.join(shortlist[:2])}."),
            env={"RESPONSE_SCHEMA": json.dumps(APPROVAL_SCHEMA)},
            allow_failure=True,
        )])

    def _refine(self, approved):
        return Workflow([
            Task(
                task_id=f"refine_{metal.lower()}",
                command="python3 refine.py",
                files={"refine.py": FileFromPath(HERE / "refine.py")},
                env={"METAL": metal, "D_BAND_CENTRE_EV": str(D_BAND_CENTRES[metal])},
            )
            for metal in approved
        ])


def get_campaign():
    return CatalystScreening()
