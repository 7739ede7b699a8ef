"""A campaign's own mistakes through the command line, as a user meets them: an analyze that
raises on every tick fails the run after five ticks (one note, the traceback in the run
folder), and `revive` after fixing main.py goes on from the same iteration; a state that
cannot be saved fails the run in one line; a run whose task was cancelled ends CANCELLED."""

from __future__ import annotations

from e2e_kit import job_pids, ok

ANALYZE_RAISES_UNTIL_FIXED = """
    from matterstack import Campaign, Task, Workflow

    BROKEN = True  # the user's bug; the test fixes it by rewriting this line


    class Screening(Campaign):
        def plan(self, state):
            if state is None:
                return Workflow([Task(task_id="relax", command="echo -3.25 > energy.txt")])
            if state["iteration"] == 1:
                return Workflow([Task(task_id="refine", command="echo -3.5 > energy.txt")])
            return None

        def analyze(self, state, results):
            energies = {t: open(r["files"]["energy.txt"]).read().strip() for t, r in results.items()}
            if BROKEN and state is None:
                raise KeyError("formation_energy")
            iteration = 1 if state is None else state["iteration"] + 1
            return {"iteration": iteration, "energies": energies}


    def get_campaign():
        return Screening()
"""

SET_STATE = """
    from matterstack import Campaign, Task, Workflow


    class Seen(Campaign):
        def plan(self, state):
            return Workflow([Task(task_id="one", command="true")]) if state is None else None

        def analyze(self, state, results):
            return {"seen": set(results)}


    def get_campaign():
        return Seen()
"""

ONE_LONG_TASK = """
    from matterstack import Campaign, Task, Workflow


    class Long(Campaign):
        def plan(self, state):
            return Workflow([Task(task_id="long", command="sleep 120")]) if state is None else None

        def analyze(self, state, results):
            raise AssertionError("a cut-short iteration is never analyzed")


    def get_campaign():
        return Long()
"""


def campaign_notes(project, run_id):
    with project.db(run_id) as db:
        return [r[0] for r in db.execute("SELECT text FROM run_notes WHERE text LIKE 'campaign %' ORDER BY id")]


def test_an_analyze_that_raises_every_tick_fails_the_run_and_revive_after_the_fix_goes_on(project):
    # given a workspace whose analyze raises on the first iteration's results
    folder = project.add_workspace("screening", ANALYZE_RAISES_UNTIL_FIXED)
    run_id = project.init("screening")
    run_dir = project.run_dir(run_id)

    # when the run is looped
    looped = project.matterstack("loop", run_id, "--interval", "0.05")

    # then the loop ends with the run FAILED, naming the error's last line and the traceback file
    assert looped.returncode == 1, looped.stderr
    assert "Traceback" not in looped.stdout + looped.stderr
    last = looped.stdout.splitlines()[-1]
    assert last.startswith(f"Run {run_id} FAILED (KeyError: 'formation_energy'; campaign analyze() raised it on 5 ticks")
    assert f"traceback in {run_dir / 'campaign_error.txt'}" in last
    # and the database holds one note for the five ticks, not one per tick
    (note,) = campaign_notes(project, run_id)
    assert note.startswith("campaign analyze() raised KeyError: 'formation_energy' on 5 ticks in a row")
    # and the traceback starts in main.py and points at the user's line
    traceback_text = (run_dir / "campaign_error.txt").read_text()
    first_frame = traceback_text.splitlines()[2]
    assert first_frame.startswith(f'  File "{folder / "main.py"}"'), traceback_text
    assert 'raise KeyError("formation_energy")' in traceback_text
    status = ok(project.matterstack("status", run_id)).stdout
    assert status.startswith(f"Run {run_id}: FAILED (KeyError: 'formation_energy'")
    relax_attempts = [a["attempt_id"] for a in project.attempts(run_id, "relax")]

    # when main.py is fixed and the run revived and looped again
    main_py = folder / "main.py"
    main_py.write_text(main_py.read_text().replace("BROKEN = True", "BROKEN = False"))
    revived = ok(project.matterstack("revive", run_id))
    finished = ok(project.matterstack("loop", run_id, "--interval", "0.05"))

    # then the run goes on from the same iteration to COMPLETED, relax was not run again, and
    # the state holds both iterations' results
    assert "FAILED → PENDING" in revived.stdout
    assert finished.stdout.splitlines()[-1].startswith(f"Run {run_id} COMPLETED")
    assert [a["attempt_id"] for a in project.attempts(run_id, "relax")] == relax_attempts
    assert len(project.attempts(run_id, "refine")) == 1
    assert (run_dir / "campaign_state.json").read_text() == (
        '{"iteration": 2, "energies": {"relax": "-3.25", "refine": "-3.5"}}')


def test_a_state_that_cannot_be_saved_fails_the_run_in_one_line(project):
    # given a workspace whose analyze returns a set
    project.add_workspace("seen", SET_STATE)
    run_id = project.init("seen")

    # when the run is looped
    looped = project.matterstack("loop", run_id, "--interval", "0.05")

    # then it stops at once with the run FAILED and the reason in one line
    assert looped.returncode == 1, looped.stderr
    assert "Traceback" not in looped.stdout + looped.stderr
    status = ok(project.matterstack("status", run_id)).stdout.splitlines()[0]
    assert status == (
        f"Run {run_id}: FAILED (analyze() returned a dict whose ['seen'] is a set, which campaign_state.json "
        "cannot hold (fix: return plain JSON values (dict, list, str, int, float, bool, None), a dataclass, "
        "an attrs class or a pydantic model; convert the set first (to a list, str or dict)))")
    assert campaign_notes(project, run_id) == []


def test_a_run_whose_only_task_was_cancelled_ends_cancelled(project):
    # given a run whose one task is running
    project.add_workspace("long", ONE_LONG_TASK)
    run_id = project.init("long")
    ok(project.matterstack("step", run_id))
    run_dir = project.run_dir(run_id)
    project.wait_for(lambda: len(job_pids(run_dir)) == 1, what="the task to start")
    (attempt,) = project.attempts(run_id, "long")

    # when its attempt is cancelled and the run stepped
    ok(project.matterstack("cancel-attempt", run_id, attempt["attempt_id"]))
    stepped = project.matterstack("step", run_id)

    # then the run is CANCELLED, not COMPLETED, and says how to run the task again
    assert stepped.returncode == 1, stepped.stderr
    assert stepped.stdout.startswith(f"Run {run_id}: CANCELLED")
    status = ok(project.matterstack("status", run_id)).stdout.splitlines()[0]
    assert status == (f"Run {run_id}: CANCELLED (tasks cancelled: long (fix: `matterstack rerun {run_id} long` "
                      "runs one again and revives the run))")
    assert not (run_dir / "campaign_state.json").exists()

