"""Demo campaign: screen Lennard-Jones clusters of noble gases, then rank them.

Iteration 1 relaxes one cluster per candidate (element × size) as an independent task; one
candidate has unphysical parameters and fails, which the campaign tolerates
(``allow_failure``). ``analyze`` collects each result; iteration 2 stages every result file
into one ranking task that writes ``report.md``. Then ``plan`` returns ``None`` and the run
completes.

Run it with ``matterstack run examples/screening``.
"""

from pathlib import Path

from matterstack import Campaign, FileFromPath, Task, Workflow

HERE = Path(__file__).resolve().parent

# Lennard-Jones parameters (epsilon in meV, sigma in Å), textbook values.
ELEMENTS = {
    "Ne": (3.1, 2.74),
    "Ar": (10.3, 3.40),
    "Kr": (14.0, 3.65),
    "Xe": (19.4, 3.98),
    "Og": (-1.0, 4.20),  # no measured parameters: this candidate fails, and that is allowed
}
SIZES = (4, 7)


class ClusterScreening(Campaign):
    def plan(self, state):
        state = state or {}
        if "ranked" in state:
            return None
        if "results" not in state:
            return self._relax_all()
        return self._rank(state["results"])

    def analyze(self, state, results):
        state = dict(state or {})
        if "results" not in state:
            state["results"] = {
                task_id: r["files"]["result.json"]
                for task_id, r in results.items()
                if task_id.startswith("relax_") and r["status"] == "COMPLETED"
            }
            state["failed"] = sorted(
                task_id for task_id, r in results.items() if r["status"] == "FAILED"
            )
        elif "rank" in results and results["rank"]["status"] == "COMPLETED":
            state["ranked"] = results["rank"]["files"]["report.md"]
        return state

    def _relax_all(self):
        wf = Workflow()
        for element, (epsilon, sigma) in ELEMENTS.items():
            for size in SIZES:
                wf.add_task(
                    Task(
                        task_id=f"relax_{element.lower()}{size}",
                        command="python3 relax_cluster.py",
                        files={"relax_cluster.py": FileFromPath(HERE / "relax_cluster.py")},
                        env={
                            "ELEMENT": element,
                            "LJ_EPSILON_MEV": str(epsilon),
                            "LJ_SIGMA_A": str(sigma),
                            "CLUSTER_SIZE": str(size),
                        },
                        cores=1,
                        time_limit_minutes=5,
                        allow_failure=element == "Og",
                    )
                )
        return wf

    def _rank(self, result_files):
        files = {"rank.py": FileFromPath(HERE / "rank.py")}
        for task_id, path in result_files.items():
            files[f"{task_id}.result.json"] = FileFromPath(path)
        wf = Workflow()
        wf.add_task(Task(task_id="rank", command="python3 rank.py", files=files))
        return wf


def get_campaign():
    return ClusterScreening()
