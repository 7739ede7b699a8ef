"""How long ``loop`` waits between ticks: not at all while ticks do something, then from a
millisecond upwards, doubling, up to the interval."""

from __future__ import annotations

from matterstack.core.status import RunStatus
from matterstack.orchestrator.api import IdleWait
from matterstack.orchestrator.tick import TickReport

BUSY = TickReport("r", RunStatus.RUNNING, submitted=1)
IDLE = TickReport("r", RunStatus.RUNNING)


def test_idle_ticks_wait_longer_and_longer_up_to_the_interval_and_work_resets_the_wait():
    idle = IdleWait(0.01, first=0.001)
    assert [idle.after(IDLE) for _ in range(6)] == [0.001, 0.002, 0.004, 0.008, 0.01, 0.01]
    assert idle.after(BUSY) == 0
    assert idle.after(IDLE) == 0.001


def test_an_interval_shorter_than_the_first_wait_is_the_longest_wait():
    idle = IdleWait(0.0005)
    assert [idle.after(IDLE) for _ in range(3)] == [0.0005, 0.0005, 0.0005]
    assert IdleWait(0).after(IDLE) == 0
