"""A campaign for trying kind ``shell``: ``greet`` writes a greeting, ``count`` (after it)
counts to three. It names no operator key, so the site's operators.yaml decides where it runs."""

from matterstack import Campaign, Task, Workflow


class HelloShell(Campaign):
    """One iteration of two tasks."""

    def plan(self, state):
        if state is not None:
            return None
        workflow = Workflow()
        workflow.add_task(Task(task_id="greet", command='echo "hello from $0" > greeting.txt'))
        workflow.add_task(Task(task_id="count", command="for i in 1 2 3; do echo $i; done > count.txt",
                               dependencies={"greet"}))
        return workflow

    def analyze(self, state, results):
        return {task_id: sorted(result["files"]) for task_id, result in sorted(results.items())}


def get_campaign():
    return HelloShell()
