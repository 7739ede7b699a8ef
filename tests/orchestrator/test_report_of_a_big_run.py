"""The HTML report of a big run draws its first 2,000 tasks and says how many it left out;
bundle.json and report.md still hold every task."""

from __future__ import annotations

import json
import re

from lifecycle_kit import Campaignish

from matterstack.core.workflow import Task
from matterstack.orchestrator.evidence import export_evidence
from matterstack.orchestrator.report_html import DRAWN_TASKS
from matterstack.store import StateStore


def test_a_run_of_more_tasks_than_the_page_draws_is_drawn_up_to_the_limit_and_says_what_it_left_out(start_run):
    # given one iteration of 2,003 tasks, all started
    total = DRAWN_TASKS + 3
    run = start_run(Campaignish([Task(task_id=f"t{n:05d}", image="", command="true") for n in range(total)]))
    run.tick()

    # when
    with StateStore.open(run.handle.db_path) as store:
        export_evidence(run.handle, store)

    # then the page draws 2,000 tasks, links 2,000 from the iteration and counts the 3 others
    evidence = run.handle.evidence_path
    page = (evidence / "report.html").read_text()
    assert len(re.findall(r'<article class="task"', page)) == DRAWN_TASKS
    assert 'id="task-t01999"' in page and 'id="task-t02000"' not in page
    assert page.count("The first 2,000 of 2,003 tasks") == 2
    (iteration,) = re.findall(r'<tr class="iteration">.*?</tr>', page, re.DOTALL)
    assert iteration.count('<a href="#task-') == DRAWN_TASKS and "and 3 more" in iteration
    assert "<td>2003 WAITING_EXTERNAL</td>" in iteration  # the statuses count every task of the iteration
    # and the bundle and report.md hold every task
    assert len(json.loads((evidence / "bundle.json").read_text())["tasks"]) == total
    assert "| t02002 |" in (evidence / "report.md").read_text()


def test_a_run_the_page_draws_whole_says_nothing_was_left_out(start_run):
    run = start_run(Campaignish([Task(task_id="only", image="", command="true")]))
    run.tick()

    with StateStore.open(run.handle.db_path) as store:
        export_evidence(run.handle, store)

    page = (run.handle.evidence_path / "report.html").read_text()
    assert 'id="task-only"' in page and "left-out" not in page and "more</span>" not in page
