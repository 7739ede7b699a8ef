"""Tasks, workflows, gates, external tasks and the campaign base class."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matterstack.core.campaign import Campaign
from matterstack.core.external import ExternalTask, external_request_from_command
from matterstack.core.gate import GateTask
from matterstack.core.workflow import FileFromContent, FileFromPath, Task, Workflow
from matterstack.errors import WorkflowError

# --- Task -----------------------------------------------------------------------------------


def test_a_task_needs_nothing_and_gets_a_fresh_id():
    first, second = Task(), Task()
    assert first.task_id != second.task_id
    assert (first.image, first.command, first.files, first.env, first.dependencies) == ("", "", {}, {}, set())
    assert first.task_type == "Task"


def test_task_arguments_may_be_given_positionally_in_the_documented_order():
    task = Task("t", "img", "echo hi", {"a.txt": "x"}, {"K": "v"}, {"d"}, 2, 4, 1, 30, True, True, ["*.log"], "hpc.dev")
    assert task == Task(
        task_id="t", image="img", command="echo hi", files={"a.txt": "x"}, env={"K": "v"},
        dependencies={"d"}, cores=2, memory_gb=4, gpus=1, time_limit_minutes=30,
        allow_failure=True, allow_dependency_failure=True,
        download_patterns={"include": ["*.log"]}, operator_key="hpc.dev",
    )


def test_a_path_file_value_means_copy_that_file():
    task = Task(task_id="t", files={"in.csv": Path("/data/in.csv"), "notes": "inline"})
    assert task.files == {"in.csv": FileFromPath(Path("/data/in.csv")), "notes": "inline"}


def test_dependencies_may_be_any_collection_of_ids():
    assert Task(task_id="t", dependencies=["a", "b", "a"]).dependencies == {"a", "b"}


@pytest.mark.parametrize("key", ["/etc/passwd", "../up", "a/../../b", "a//b", "", "dir/", "./a", "a/./b"])
def test_a_file_name_that_could_escape_or_is_malformed_is_refused(key):
    with pytest.raises(WorkflowError) as caught:
        Task(task_id="stage_me", files={key: "x"})
    assert "stage_me" in str(caught.value)
    assert repr(key) in str(caught.value)


def test_file_names_may_be_nested_relative_paths():
    assert list(Task(task_id="t", files={"inputs/deep/a.txt": "x"}).files) == ["inputs/deep/a.txt"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("files", {"a": 3}),
        ("env", {"N": 4}),
        ("dependencies", "abc"),
        ("cores", -1),
        ("gpus", True),
        ("allow_failure", 1),
        ("download_patterns", {"keep": ["*"]}),
        ("download_patterns", {"include": "*.json"}),
        ("image", None),
        ("task_id", "a/b"),
        ("task_id", ".."),
    ],
)
def test_a_malformed_task_field_is_a_workflow_error(field, value):
    with pytest.raises(WorkflowError):
        Task(**{"task_id": "t", field: value})


def test_fields_are_checked_again_when_assigned():
    task = Task(task_id="t")
    with pytest.raises(WorkflowError):
        task.files = {"../x": "y"}


def test_download_patterns_take_the_0_2_7_shape_or_a_plain_include_list():
    shape = {"include": ["*.csv", "*.log"], "exclude": ["*.trr"]}
    assert Task(task_id="t", download_patterns=shape).download_patterns == shape
    assert Task(task_id="t", download_patterns=("*.csv",)).download_patterns == {"include": ["*.csv"]}


# --- GateTask and ExternalTask --------------------------------------------------------------


def test_a_gate_keeps_its_message_as_the_instructions_for_the_person():
    gate = GateTask(task_id="approve", message="Approve the batch.", dependencies={"rank"})
    assert gate.env == {"INSTRUCTIONS": "Approve the batch."}
    assert gate.message == "Approve the batch."
    assert (gate.task_type, gate.default_operator_key) == ("GateTask", "human.default")


def test_external_task_command_carries_the_request_as_0_2_7_wrote_it():
    task = ExternalTask(
        task_id="external_qc",
        image="external",
        command="placeholder",
        request_data={"check": "GPC molecular weight", "samples": ["PE-20", "PS-20"]},
    )
    assert task.command == (
        "python3 -m matterstack.core.external '"
        '{"request_path": "request.json", "response_path": "response.json", '
        '"request_data": {"check": "GPC molecular weight", "samples": ["PE-20", "PS-20"]}, '
        '"poll_interval": 5.0, "timeout_minutes": 60}\''
    )
    assert external_request_from_command(task.command) == task.request_config()
    assert (task.task_type, task.default_operator_key) == ("ExternalTask", "experiment.default")


def test_a_quote_in_the_request_stays_readable_back():
    task = ExternalTask(task_id="e", request_data={"note": "it's 'quoted'"})
    assert external_request_from_command(task.command)["request_data"] == {"note": "it's 'quoted'"}


def test_a_request_that_is_not_json_is_a_workflow_error():
    with pytest.raises(WorkflowError, match="JSON"):
        ExternalTask(task_id="e", request_data={"when": object()})


@pytest.mark.parametrize("command", ["echo hi", "python3 -m matterstack.core.external 'nope'", "'unclosed"])
def test_a_command_without_a_request_gives_none(command):
    assert external_request_from_command(command) is None


# --- Workflow -------------------------------------------------------------------------------


def test_a_duplicate_task_id_is_an_error_naming_the_id():
    workflow = Workflow([Task(task_id="relax_fe")])
    with pytest.raises(WorkflowError, match="relax_fe"):
        workflow.add_task(Task(task_id="relax_fe"))
    assert len(workflow) == 1


def test_a_workflow_iterates_in_insertion_order_and_answers_membership():
    tasks = [Task(task_id=name) for name in "cab"]
    workflow = Workflow()
    workflow.add_tasks(tasks)
    assert list(workflow) == tasks
    assert len(workflow) == 3
    assert "a" in workflow and tasks[0] in workflow and "z" not in workflow
    assert workflow.get("b") is tasks[2] and workflow.get("z") is None
    assert dict(workflow.tasks) == {task.task_id: task for task in tasks}


def test_topological_order_puts_dependencies_first_and_keeps_insertion_order_otherwise():
    workflow = Workflow([
        Task(task_id="report", dependencies={"fit", "md"}),
        Task(task_id="fit"),
        Task(task_id="md", dependencies={"prep"}),
        Task(task_id="prep"),
        Task(task_id="extra"),
    ])
    assert [task.task_id for task in workflow.topological_order()] == ["fit", "prep", "md", "report", "extra"]
    assert workflow.get_topo_sorted_tasks() == workflow.topological_order()


@st.composite
def acyclic_workflows(draw):
    size = draw(st.integers(min_value=0, max_value=12))
    names = [f"t{index}" for index in range(size)]
    deps = {name: draw(st.sets(st.sampled_from(names[:index]))) if index else set() for index, name in enumerate(names)}
    insertion = draw(st.permutations(names))
    external = draw(st.sets(st.sampled_from(["old_a", "old_b"])))
    return Workflow([Task(task_id=name, dependencies=deps[name] | external) for name in insertion])


@given(acyclic_workflows())
def test_topological_order_always_takes_the_earliest_inserted_ready_task(workflow):
    # when ordering any acyclic workflow (with dependencies on earlier iterations)
    order = [task.task_id for task in workflow.topological_order()]
    inserted = [task.task_id for task in workflow]
    # then each step takes the earliest-inserted task whose in-workflow deps are placed
    placed: set[str] = set()
    for chosen in order:
        ready = [
            name for name in inserted
            if name not in placed and {d for d in workflow.get(name).dependencies if d in workflow} <= placed
        ]
        assert chosen == ready[0]
        placed.add(chosen)
    assert sorted(order) == sorted(inserted)


@pytest.mark.parametrize(
    ("tasks", "cycle"),
    [
        ([Task(task_id="a", dependencies={"b"}), Task(task_id="b", dependencies={"a"})], "a -> b -> a"),
        ([Task(task_id="solo", dependencies={"solo"})], "solo -> solo"),
        (
            [
                Task(task_id="free"),
                Task(task_id="x", dependencies={"free", "z"}),
                Task(task_id="y", dependencies={"x"}),
                Task(task_id="z", dependencies={"y"}),
                Task(task_id="after", dependencies={"z"}),
            ],
            "x -> z -> y -> x",
        ),
    ],
)
def test_a_cycle_is_an_error_that_names_the_cycle(tasks, cycle):
    with pytest.raises(WorkflowError) as caught:
        Workflow(tasks).topological_order()
    assert cycle in str(caught.value)


def test_an_unknown_dependency_names_the_task_and_the_dependency():
    workflow = Workflow([Task(task_id="final_summary", dependencies={"rank", "md_run"}), Task(task_id="md_run")])
    with pytest.raises(WorkflowError) as caught:
        workflow.validate()
    assert "final_summary" in str(caught.value) and "'rank'" in str(caught.value)


def test_dependencies_on_tasks_of_earlier_iterations_are_valid():
    workflow = Workflow([Task(task_id="final_summary", dependencies={"rank", "md_run"}), Task(task_id="md_run")])
    workflow.validate(known_task_ids={"rank", "gen_candidates"})


def test_validate_reports_cycles_too():
    workflow = Workflow([Task(task_id="a", dependencies={"b"}), Task(task_id="b", dependencies={"a"})])
    with pytest.raises(WorkflowError, match="a -> b -> a"):
        workflow.validate()


@given(st.data())
def test_validate_refuses_exactly_the_workflows_that_cannot_be_ordered(data):
    # given any graph of up to eight tasks, cycles and self-dependencies allowed
    names = [f"t{index}" for index in range(data.draw(st.integers(min_value=1, max_value=8)))]
    workflow = Workflow([Task(task_id=name, dependencies=data.draw(st.sets(st.sampled_from(names), max_size=3)))
                         for name in names])
    # when it is validated and ordered, then both refuse it with the same cycle, or neither does
    def outcome(action):
        try:
            action()
        except WorkflowError as exc:
            return str(exc)
        return None

    assert outcome(workflow.validate) == outcome(workflow.topological_order)


def test_only_tasks_can_be_added():
    with pytest.raises(WorkflowError):
        Workflow().add_task({"task_id": "x"})  # type: ignore[arg-type]


# --- Campaign -------------------------------------------------------------------------------


def test_a_campaign_must_implement_plan_and_analyze():
    with pytest.raises(TypeError):
        Campaign()  # type: ignore[abstract]

    class OneShot(Campaign):
        def plan(self, state):
            return None if state else Workflow([Task(task_id="only")])

        def analyze(self, state, results):
            return {"done": True}

    campaign = OneShot()
    assert [task.task_id for task in campaign.plan(None)] == ["only"]
    assert campaign.plan(campaign.analyze(None, {})) is None


def test_explicit_file_types_compare_by_value():
    assert FileFromPath("/a/b") == FileFromPath(Path("/a/b"))
    assert FileFromContent("x") == FileFromContent(content="x")
    with pytest.raises(WorkflowError):
        FileFromContent(3)  # type: ignore[arg-type]
