"""State store write throughput and tick-query latency.

1. Writes: 100k attempts inserted, then all 100k moved CREATED → SUBMITTED with one event
   each, through ``StateStore.add_attempts`` / ``record_attempt_transitions`` (one batch
   each), against raw ``sqlite3`` ``executemany`` of the rows the store writes (attempts,
   events, task rows), prepared in advance, into the same schema, in the same run, both on
   WAL files in a temporary folder (target: the store within 2x of raw, i.e. conversion and
   checks cost at most as much as SQLite itself). For contrast, sqlite-utils' per-row
   ``Table.update()`` on 5k rows.
2. Tick queries: ``ready_tasks`` and ``active_attempts`` at 10k and 100k tasks, with 1,000
   active attempts and 100 ready tasks, through the store and as bare SQL (target: 100k/10k
   ratio at most 2). Best of 25 calls each.

    python bench/bench_store.py [--rows N] [--rounds N] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlite_utils

from matterstack.core.records import Attempt, Run
from matterstack.core.status import AttemptStatus
from matterstack.core.transitions import apply_attempt_transition, task_status_for_attempt
from matterstack.core.workflow import Task
from matterstack.store import StateStore
from matterstack.store.state_store import CONNECTION_PRAGMAS
from matterstack.store.rows import attempt_values, event_values
from matterstack.store.schema import ACTIVE_ATTEMPT_FILTER, ATTEMPT_COLUMNS, EVENT_COLUMNS, READY_TASK_FILTER

TARGET_WRITE_RATIO = 2.0
TARGET_QUERY_RATIO = 2.0
T0 = datetime(2027, 1, 1, tzinfo=timezone.utc)
RESULTS = Path(__file__).parent / "results"


RUN_ID = "20270101_000000_0000beef"
MUTABLE = [c for c in ATTEMPT_COLUMNS if c not in ("attempt_id", "task_id", "run_id", "attempt_index")]
INSERT_ATTEMPT = (
    f"INSERT INTO task_attempts ({', '.join(ATTEMPT_COLUMNS)}) VALUES ({', '.join('?' * len(ATTEMPT_COLUMNS))})"
)
UPDATE_ATTEMPT = f"UPDATE task_attempts SET {', '.join(f'{c} = ?' for c in MUTABLE)} WHERE attempt_id = ?"
INSERT_EVENT = f"INSERT INTO attempt_events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"


def new_store(folder: Path, tasks: list[Task]) -> StateStore:
    run = Run(run_id=RUN_ID, workspace_slug="bench", root_path=str(folder), created_at=T0)
    store = StateStore.create(folder / "state.sqlite", run)
    store.add_tasks(tasks)
    return store


def make_attempts(count: int) -> list[Attempt]:
    return [
        Attempt(
            attempt_id=f"a{i}", task_id=f"t{i}", run_id=RUN_ID, attempt_index=1,
            operator_key="hpc.default", relative_path=f"tasks/t{i}/attempts/a{i}",
            operator_data={"token": f"a{i}"}, created_at=T0,
        )
        for i in range(count)
    ]


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def raw_batches(attempts: list[Attempt], created: list, transitions: list) -> tuple[list, list]:
    """The statements and rows the store writes for the two phases, prepared in advance."""
    task_status = task_status_for_attempt(AttemptStatus.CREATED).value
    inserts = [
        (INSERT_ATTEMPT, [attempt_values(a) for a in attempts]),
        (
            "UPDATE tasks SET current_attempt_id = ?, status = ? WHERE task_id = ?",
            [(a.attempt_id, task_status, a.task_id) for a in attempts],
        ),
        (INSERT_EVENT, [event_values(e) for e in created]),
    ]
    pick_mutable = [ATTEMPT_COLUMNS.index(c) for c in MUTABLE]
    updates = [
        (UPDATE_ATTEMPT, [(*(attempt_values(a)[i] for i in pick_mutable), a.attempt_id) for a, _ in transitions]),
        (INSERT_EVENT, [event_values(e) for _, e in transitions]),
    ]
    return inserts, updates


def write_raw(path: Path, batches: list) -> float:
    """Seconds to write ``batches`` with plain executemany in one WAL transaction.

    The connection gets the store's pragmas, so both sides run the same SQLite.
    """
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("PRAGMA synchronous=NORMAL", *CONNECTION_PRAGMAS):
        connection.execute(pragma)

    def write():
        connection.execute("BEGIN IMMEDIATE")
        for sql, params in batches:
            connection.executemany(sql, params)
        connection.execute("COMMIT")

    seconds = timed(write)
    connection.close()
    return seconds


def bench_writes(folder: Path, rows: int, rounds: int) -> dict:
    """The store's batch API against plain executemany of the rows it writes, same schema.

    Each round starts from a copy of the same database holding ``rows`` tasks; the best
    round of each counts (the machine's noise only ever adds time).
    """
    attempts = make_attempts(rows)
    at = T0 + timedelta(seconds=1)
    transitions = [
        apply_attempt_transition(a, AttemptStatus.SUBMITTED, "submitted", at, external_id=f"job{i}")
        for i, a in enumerate(attempts)
    ]
    template = folder / "template" / "state.sqlite"
    new_store(template.parent, [Task(task_id=f"t{i}") for i in range(rows)]).close()
    times: dict[str, list[float]] = {"store_insert": [], "store_update": [], "raw_insert": [], "raw_update": []}
    for round_ in range(rounds):
        store_path, raw_path = folder / f"store{round_}.sqlite", folder / f"raw{round_}.sqlite"
        shutil.copyfile(template, store_path)
        shutil.copyfile(template, raw_path)
        created = []
        with StateStore.open(store_path) as store:
            times["store_insert"].append(timed(lambda: created.extend(store.add_attempts(attempts))))
            times["store_update"].append(timed(lambda: store.record_attempt_transitions(transitions)))
        inserts, updates = raw_batches(attempts, created, transitions)
        times["raw_insert"].append(write_raw(raw_path, inserts))
        times["raw_update"].append(write_raw(raw_path, updates))

    per_row_count = min(5000, rows)
    with sqlite_utils.Database(raw_path) as db:
        table = db["task_attempts"]
        per_row = timed(lambda: [
            table.update(f"a{i}", {"status": "RUNNING", "status_reason": "running"}) for i in range(per_row_count)
        ])
    return {
        "rows": rows,
        "rounds": rounds,
        **{f"{name}_rows_per_s": rows / min(seconds) for name, seconds in times.items()},
        "sqlite_utils_per_row_update_rows_per_s": per_row_count / per_row,
    }


def build_tick_run(folder: Path, total: int, active: int = 1000, ready: int = 100) -> StateStore:
    """``active`` RUNNING attempts, ``ready`` free tasks, the rest waiting on the active ones."""
    store = new_store(
        folder / f"tick{total}",
        [Task(task_id=f"t{i}") for i in range(active + ready)]
        + [Task(task_id=f"t{i}", dependencies={f"t{i % active}"}) for i in range(active + ready, total)],
    )
    attempts = make_attempts(active)
    store.add_attempts(attempts)
    store.record_attempt_transitions(
        [apply_attempt_transition(a, AttemptStatus.RUNNING, "running", T0) for a in attempts]
    )
    return store


def best_ms(action, repeats: int = 25) -> float:
    """Best of ``repeats`` calls after a warm-up: other load on the machine only adds time."""
    action()
    return min(timed(action) for _ in range(repeats)) * 1000


def bench_queries(folder: Path) -> dict:
    """Each query through the store (rows converted to records) and as bare indexed SQL."""
    results = {}
    for total in (10_000, 100_000):
        with build_tick_run(folder, total) as store:
            assert len(store.ready_tasks()) == 100 and len(store.active_attempts()) == 1000
            connection = store.db.conn
            queries = {
                "ready_tasks": (store.ready_tasks, f"SELECT * FROM tasks WHERE {READY_TASK_FILTER} ORDER BY rowid"),
                "active_attempts": (
                    store.active_attempts,
                    f"SELECT * FROM task_attempts WHERE {ACTIVE_ATTEMPT_FILTER} ORDER BY rowid",
                ),
            }
            for name, (method, sql) in queries.items():
                results[f"{name}_ms_{total}"] = best_ms(method)
                results[f"{name}_sql_ms_{total}"] = best_ms(lambda sql=sql: connection.execute(sql).fetchall())
    for name in ("ready_tasks", "active_attempts"):
        for kind in ("", "_sql"):
            results[f"{name}{kind}_ratio_100k_10k"] = (
                results[f"{name}{kind}_ms_100000"] / results[f"{name}{kind}_ms_10000"]
            )
    return results


def report(writes: dict, queries: dict) -> None:
    n = writes["rows"]
    for phase in ("insert", "update"):
        store, raw = writes[f"store_{phase}_rows_per_s"], writes[f"raw_{phase}_rows_per_s"]
        ok = "ok" if raw / store <= TARGET_WRITE_RATIO else "OVER TARGET"
        print(f"{phase:>6} {n} attempts: StateStore {store:>10,.0f} rows/s   raw sqlite3 {raw:>10,.0f} rows/s"
              f"   raw/store {raw / store:.2f}x (target <= {TARGET_WRITE_RATIO}x: {ok})")
    per_row = writes["sqlite_utils_per_row_update_rows_per_s"]
    print(f"sqlite-utils per-row update(): {per_row:>10,.0f} rows/s"
          f"   ({writes['store_update_rows_per_s'] / per_row:.0f}x slower than the batched store)")
    for name in ("ready_tasks", "active_attempts"):
        for kind, label in (("", name), ("_sql", "  its SQL alone")):
            small, large = queries[f"{name}{kind}_ms_10000"], queries[f"{name}{kind}_ms_100000"]
            ratio = queries[f"{name}{kind}_ratio_100k_10k"]
            ok = "ok" if ratio <= TARGET_QUERY_RATIO else "OVER TARGET"
            print(f"{label:>16}: {small:6.2f} ms at 10k tasks, {large:6.2f} ms at 100k"
                  f"   ratio {ratio:.2f} (target <= {TARGET_QUERY_RATIO}: {ok})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="attempts written (default 100000)")
    parser.add_argument("--rounds", type=int, default=2, help="write rounds, best counts (default 2)")
    parser.add_argument("--json", action="store_true", help="also write bench/results/bench_store.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ms-bench-store-") as folder:
        writes = bench_writes(Path(folder), args.rows, args.rounds)
        queries = bench_queries(Path(folder))
    report(writes, queries)
    if args.json:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "bench_store.json").write_text(json.dumps({**writes, **queries}, indent=2) + "\n")


if __name__ == "__main__":
    main()
