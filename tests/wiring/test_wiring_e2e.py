"""End to end through the installed command: a campaign whose tasks name the instances of an
operators.yaml (local.default, hpc.default and hpc.dev on two local backends with different
roots, human.default, experiment.default with its own exchange folder) runs to the end; every
attempt stored its key, ran in its instance's own root, and the key shows in ``attempts``,
``explain`` and ``evidence/bundle.json``."""

from __future__ import annotations

import json
from pathlib import Path

MAIN_PY = """
    from matterstack import Campaign, GateTask, Task, Workflow
    from matterstack.core.external import ExternalTask

    def where(task_id, key):
        return Task(task_id=task_id, command="pwd > where.txt", operator_key=key)

    class Sites(Campaign):
        def plan(self, state):
            if state is None:
                return Workflow([
                    where("on_local", "local.default"),
                    where("on_default", "hpc.default"),
                    where("on_dev", "hpc.dev"),
                    GateTask(task_id="approve", message="Go on?"),
                    ExternalTask(task_id="measure", env={"SAMPLE": "S1"}),
                    Task(task_id="report", command="echo done > report.txt", operator_key="hpc.dev",
                         dependencies={"on_local", "on_default", "on_dev", "approve", "measure"}),
                ])
            return None

        def analyze(self, state, results):
            return {"statuses": {task: result["status"] for task, result in results.items()}}

    def get_campaign():
        return Sites()
"""
KEYS = {"on_local": "local.default", "on_default": "hpc.default", "on_dev": "hpc.dev",
        "approve": "human.default", "measure": "experiment.default", "report": "hpc.dev"}


def test_a_campaign_runs_on_the_instances_its_tasks_name(tmp_path, write, cli):
    # given a project with the site's operators.yaml and a campaign naming its instances
    write("workspaces/sites/main.py", MAIN_PY)
    write("site/operators.yaml", f"""
        defaults: {{operator: local.default, max_concurrent: 10}}
        operators:
          local.default: {{kind: local}}
          hpc.default:
            kind: hpc
            backend: {{type: local, workspace_root: {tmp_path / "cluster-a"}}}
          hpc.dev:
            kind: hpc
            max_concurrent: 1
            backend: {{type: local, workspace_root: {tmp_path / "cluster-dev"}}}
          human.default: {{kind: human}}
          experiment.default: {{kind: experiment, exchange_dir: {tmp_path / "lab-exchange"}}}
    """)

    # when the run is made, stepped, approved by a person, measured by the lab, looped to the end
    init = cli("init", "sites", "--operators-config", "site/operators.yaml")
    assert init.returncode == 0, init.stderr
    run_id = init.stdout.split()[1]
    assert cli("step", run_id).returncode == 0
    answered = cli("human", "respond", run_id, "approve", "--approve")
    assert answered.returncode == 0, answered.stderr
    token = json.loads(cli("attempts", run_id, "measure", "--json").stdout)[0]["attempt_id"]
    request = tmp_path / "lab-exchange" / token
    assert json.loads((request / "experiment_request.json").read_text())["task_id"] == "measure"
    (request / "experiment_result.json").write_text(json.dumps({"status": "COMPLETED", "data": {"yield": 0.9}}))
    loop = cli("loop", run_id, "--interval", "0.05")
    assert loop.returncode == 0, loop.stderr + loop.stdout
    assert f"Run {run_id} COMPLETED" in loop.stdout

    # then every attempt stored the key it ran under, shown by `attempts`
    run_dir = tmp_path / "workspaces/sites/runs" / run_id
    attempts = {task: json.loads(cli("attempts", run_id, task, "--json").stdout) for task in KEYS}
    assert {task: [a["operator_key"] for a in rows] for task, rows in attempts.items()} == \
        {task: [key] for task, key in KEYS.items()}
    assert all(rows[0]["status"] == "COMPLETED" for rows in attempts.values())

    # and each compute attempt ran in its own instance's root
    def ran_in(task: str) -> Path:
        return Path((run_dir / attempts[task][0]["path"] / "where.txt").read_text().strip())

    def job_dir(root: str, task: str) -> Path:
        return tmp_path / root / "sites" / run_id / task / attempts[task][0]["attempt_id"]

    assert ran_in("on_local") == run_dir / attempts["on_local"][0]["path"]
    assert ran_in("on_default") == job_dir("cluster-a", "on_default")
    assert ran_in("on_dev") == job_dir("cluster-dev", "on_dev")
    assert (job_dir("cluster-dev", "report") / "report.txt").read_text() == "done\n"
    assert (run_dir / attempts["report"][0]["path"] / "report.txt").read_text() == "done\n"

    # and the keys and the wiring are in `explain` and in the evidence bundle
    explained = cli("explain", run_id)
    assert explained.returncode == 0, explained.stderr
    for key in ("local.default", "hpc.default", "hpc.dev", "human.default", "experiment.default"):
        assert f"  {key}: kind {key.split('.')[0]}" in explained.stdout
    assert f"hpc.dev: kind hpc backend local max_concurrent 1 root {tmp_path / 'cluster-dev'}" in explained.stdout
    assert cli("export-evidence", run_id).returncode == 0
    bundle = json.loads((run_dir / "evidence/bundle.json").read_text())
    assert {t["task_id"]: [a["operator_key"] for a in t["attempts"]] for t in bundle["tasks"]} == \
        {task: [key] for task, key in KEYS.items()}
    assert bundle["wiring"]["source_file"] == str((tmp_path / "site/operators.yaml").resolve())
    assert bundle["wiring"]["default_operator"] == "local.default" and bundle["wiring"]["max_concurrent"] == 10
    assert bundle["wiring"]["instances"]["hpc.default"]["root"] == str(tmp_path / "cluster-a")
