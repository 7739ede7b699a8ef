"""Several real processes making chronological ids in the same second (task ids of their
campaigns, run ids) do not give out the same id twice.

Across processes nothing is shared but the clock: uniqueness rests on the 8 random hex digits
drawn from the kernel (``os.urandom``, so processes started together do not share a random
stream). 400 ids in one second clash with odds of about 1 in 50,000; attempt ids are in
addition checked against their run's database before they are written
(``tests/orchestrator/test_attempt_ids.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

PROCESSES = 4
IDS_EACH = 100

MAKER = """
import json, sys, time
from matterstack import Task
from matterstack.orchestrator.api import new_run_id
start = float(sys.argv[1])
time.sleep(max(0.0, start - time.time()))
tasks = [Task(image="ubuntu", command="true").task_id for _ in range(int(sys.argv[2]) - 1)]
print(json.dumps({"ids": tasks + [new_run_id()], "ended": time.time()}))
"""


def test_processes_making_ids_in_the_same_second_never_repeat_one():
    # given processes started apart, all waiting for the same moment (early in a second)
    start = int(time.time()) + 3 + 0.05
    makers = [subprocess.Popen([sys.executable, "-c", MAKER, str(start), str(IDS_EACH)],
                               stdout=subprocess.PIPE, text=True) for _ in range(PROCESSES)]
    # when each makes its ids at that moment
    outputs = [json.loads(maker.communicate(timeout=60)[0]) for maker in makers]
    # then they were made within the one second, and no id was given out twice
    made = [made_id for output in outputs for made_id in output["ids"]]
    assert all(output["ended"] < int(start) + 1 for output in outputs), "too slow to share one second"
    assert {made_id[:15] for made_id in made} == {time.strftime("%Y%m%d_%H%M%S", time.gmtime(start))}
    assert len(made) == len(set(made)) == PROCESSES * IDS_EACH
