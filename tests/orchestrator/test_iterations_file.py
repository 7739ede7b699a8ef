"""``<run>/iterations.jsonl``, where the HTML report learns which tasks each iteration
planned: a run without it is one iteration, and a line written twice or half-written by a
crash neither adds nor hides an iteration."""

from __future__ import annotations

from datetime import datetime, timezone

from matterstack.orchestrator.iterations import ITERATIONS_FILE, Iteration, read_iterations, record_iteration

AT = datetime(2026, 12, 7, 6, 30, tzinfo=timezone.utc)


def test_a_run_without_the_file_is_one_iteration_from_its_first_task(tmp_path):
    assert read_iterations(tmp_path) == [Iteration(1, 0, None)]


def test_each_kept_iteration_starts_where_the_tasks_before_it_end(tmp_path):
    record_iteration(tmp_path, 10, AT)
    record_iteration(tmp_path, 11, AT)

    assert read_iterations(tmp_path) == [Iteration(1, 0, None), Iteration(2, 10, AT.isoformat()),
                                         Iteration(3, 11, AT.isoformat())]


def test_a_line_recorded_twice_or_cut_short_by_a_crash_changes_nothing(tmp_path):
    record_iteration(tmp_path, 4, AT)
    record_iteration(tmp_path, 4, AT)
    with open(tmp_path / ITERATIONS_FILE, "a") as stream:
        stream.write('{"first_task": 9, "plan')
    record_iteration(tmp_path, 12, AT)

    assert read_iterations(tmp_path) == [Iteration(1, 0, None), Iteration(2, 4, AT.isoformat()),
                                         Iteration(3, 12, AT.isoformat())]


def test_a_disk_that_refuses_the_line_loses_the_boundary_and_never_the_tick(tmp_path):
    # given a run folder where the file cannot be written (a folder stands in its place)
    (tmp_path / ITERATIONS_FILE).mkdir()

    # when an iteration is recorded, then nothing is raised and the run reads as one iteration
    record_iteration(tmp_path, 4, AT)

    assert read_iterations(tmp_path) == [Iteration(1, 0, None)]
