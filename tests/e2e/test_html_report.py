"""``evidence/report.html`` opened in a real (headless) browser: a run whose task failed and
was rerun, over two iterations, shows every attempt on its operator instance's timeline, the
failure with its reason, both iterations, and links to each attempt's files; the page needs
no network and is the same on every export."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from e2e_kit import ok
from installs import clean_env

from browser import screenshot

RELAX_THEN_SUMMARIZE = """
    import os
    from matterstack import Campaign, Task, Workflow

    class RelaxThenSummarize(Campaign):
        \"\"\"Iteration 1: relax (fails until $GO exists) beside hold (runs until $STOP
        exists); iteration 2: summarize.\"\"\"

        def plan(self, state):
            if state is None:
                return Workflow([
                    Task(task_id="relax", env={"GO": os.environ["GO"]},
                         command='test -e "$GO" || { echo "no $GO yet" >&2; exit 3; }; echo done > out.txt'),
                    Task(task_id="hold", env={"STOP": os.environ["STOP"]},
                         command='while [ ! -e "$STOP" ]; do sleep 0.05; done'),
                ])
            if "summarized" not in state:
                return Workflow([Task(task_id="summarize", command="echo 2 tasks > summary.txt")])
            return None

        def analyze(self, state, results):
            return {"summarized": True} if "summarize" in results else {"relaxed": True}

    def get_campaign():
        return RelaxThenSummarize()
"""
SCREENSHOT_COPY = "MATTERSTACK_REPORT_SCREENSHOT"
"""When set, the test also copies its screenshot there (how docs/images/report.png is made)."""


@pytest.fixture
def rerun_run(project, tmp_path):
    """A COMPLETED run of two iterations in which relax failed once and was rerun."""
    project.add_workspace("relax", RELAX_THEN_SUMMARIZE)
    go, stop = tmp_path / "go", tmp_path / "stop"
    env = clean_env(GO=str(go), STOP=str(stop))
    run_id = ok(project.matterstack("init", "relax", env=env)).stdout.split()[1]

    def step_until(condition):
        for _ in range(200):
            if condition():
                return
            ok(project.matterstack("step", run_id, env=env))
        raise AssertionError(f"not reached: {[(a['task_id'], a['status']) for a in project.attempts(run_id)]}")

    def relax_statuses():
        return [a["status"] for a in project.attempts(run_id, "relax")]

    step_until(lambda: relax_statuses() == ["FAILED"])
    go.touch()
    ok(project.matterstack("rerun", run_id, "relax", "--force", env=env))
    step_until(lambda: relax_statuses() == ["FAILED", "COMPLETED"])
    stop.touch()
    step_until(lambda: project.run_status(run_id) == "COMPLETED")
    return project, run_id


def test_the_html_report_shows_every_attempt_with_reruns_and_failures_on_the_timeline(rerun_run, browser, tmp_path):
    # given a finished run whose relax failed once and was rerun
    project, run_id = rerun_run
    evidence = project.run_dir(run_id) / "evidence"

    # when its evidence is exported and the report opened in a browser
    ok(project.matterstack("export-evidence", run_id))
    page = evidence / "report.html"
    browser.get(page.as_uri())
    shot = screenshot(browser, tmp_path / "report.png")

    # then the timeline of local.default has relax's two attempts on one row, the first
    # failed with its reason, and every other task's one attempt
    from selenium.webdriver.common.by import By

    assert browser.title == f"Run {run_id}: COMPLETED"
    (instance,) = browser.find_elements(By.CSS_SELECTOR, "#timeline h3.instance")
    assert instance.text == "local.default"
    rows = {row.get_attribute("data-task"): row for row in browser.find_elements(By.CSS_SELECTOR, "#timeline .row")}
    assert set(rows) == {"relax", "hold", "summarize"}
    bars = [(bar.get_attribute("data-attempt"), bar.get_attribute("data-status"), bar.get_attribute("class"))
            for bar in rows["relax"].find_elements(By.CSS_SELECTOR, ".attempt")]
    assert bars == [("1", "FAILED", "attempt failed"), ("2", "COMPLETED", "attempt completed")]
    (why,) = browser.find_elements(By.CSS_SELECTOR, "#timeline .why")
    assert why.text.startswith("#1 FAILED: exit code 3") and "no " in why.text
    first, second = rows["relax"].find_elements(By.CSS_SELECTOR, ".attempt")
    assert first.rect["x"] < second.rect["x"]  # the rerun is drawn after the failure
    assert [len(rows[t].find_elements(By.CSS_SELECTOR, ".attempt")) for t in ("hold", "summarize")] == [1, 1]

    # and both iterations, and links to the files each attempt collected
    iterations = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#iterations tr.iteration")]
    assert re.match(r"1 .* relax, hold 2 COMPLETED$", iterations[0]), iterations
    assert re.match(r"2 .* summarize 1 COMPLETED$", iterations[1]), iterations
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#task-summarize a")]
    summary = [href for href in links if href.endswith("/summary.txt")]
    assert summary and Path(summary[0].removeprefix("file://")).read_text() == "2 tasks\n"

    # and the page loads nothing from elsewhere, is the same on a second export, and was drawn
    html = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    ok(project.matterstack("export-evidence", run_id))
    assert page.read_text() == html
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
    copy_to = os.environ.get(SCREENSHOT_COPY)
    if copy_to:
        shutil.copyfile(shot, copy_to)
