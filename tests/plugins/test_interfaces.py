"""The interfaces a plugin implements and the values it exchanges with the core."""

from __future__ import annotations

from pathlib import Path

import pytest

from matterstack import errors
from matterstack.cli.doctor import instance_checks
from matterstack.core.status import AttemptStatus
from matterstack.orchestrator.operator_registry import OperatorRegistry
from matterstack.plugins import (
    AttemptContext,
    BackendCapabilities,
    CollectResult,
    ComputeBackend,
    JobObservation,
    JobSpec,
    Observation,
    Operator,
    OperatorContext,
    PermanentOperatorError,
    PluginHost,
    SubmitResult,
    TransientOperatorError,
    hookimpl,
)
from matterstack.wiring.document import build_wiring


class EchoOperator(Operator):
    """Finishes every attempt at once; enough to show the shape of the interface."""

    def prepare(self, attempt):
        (attempt.attempt_dir / "manifest.json").write_text("{}")

    def submit(self, attempt):
        return SubmitResult(external_id=f"echo-{attempt.attempt_id}")

    def poll(self, attempts):
        return {a.attempt_id: Observation(AttemptStatus.COMPLETED, external_id=a.external_id, exit_code=0) for a in attempts}

    def reconcile(self, attempts):
        return {a.attempt_id: None for a in attempts}

    def collect(self, attempt):
        return CollectResult(files={"manifest.json": "manifest.json"})

    def cancel(self, attempt):
        pass

    def describe_wait(self, attempt):
        return f"nothing: {self.key} finishes at once"


def context(tmp_path: Path) -> AttemptContext:
    return AttemptContext(
        attempt_id="a1", task=None, run_id="r1", run_dir=tmp_path, attempt_dir=tmp_path, operator_key="echo.default"
    )


def test_an_operator_is_built_as_factory_key_settings_context(tmp_path):
    operator_context = OperatorContext(run_id="r1", run_dir=tmp_path, workspace_slug="demo", host=None)

    operator = EchoOperator("echo.default", None, operator_context)
    attempt = context(tmp_path)
    operator.prepare(attempt)

    assert operator.key == "echo.default" and operator.context.workspace_slug == "demo"
    assert operator.submit(attempt) == SubmitResult(external_id="echo-a1", status=AttemptStatus.SUBMITTED)
    assert operator.poll([attempt])["a1"].status is AttemptStatus.COMPLETED
    assert operator.reconcile([attempt]) == {"a1": None}
    assert operator.collect(attempt).files == {"manifest.json": "manifest.json"}
    assert "finishes at once" in operator.describe_wait(attempt)
    operator.close()


def test_an_attempt_names_its_directory_relative_to_the_run_and_in_full_when_outside(tmp_path):
    inside = AttemptContext(attempt_id="a1", task=None, run_id="r1", run_dir=tmp_path,
                            attempt_dir=tmp_path / "tasks" / "t1" / "attempts" / "a1", operator_key="echo.default")
    outside = AttemptContext(attempt_id="a1", task=None, run_id="r1", run_dir=tmp_path / "run",
                             attempt_dir=tmp_path / "scratch" / "a1", operator_key="echo.default")

    assert inside.relative_dir == "tasks/t1/attempts/a1"
    assert outside.relative_dir == str(tmp_path / "scratch" / "a1")


def test_an_operator_missing_a_method_cannot_be_built(tmp_path):
    class Incomplete(Operator):
        def submit(self, attempt):
            return SubmitResult(external_id=None)

    with pytest.raises(TypeError, match="abstract"):
        Incomplete("x.default", None, None)


def test_a_backend_declares_its_capabilities(tmp_path):
    class Recorder(ComputeBackend):
        capabilities = BackendCapabilities(shared_filesystem=True, accounting=False, needs_ssh=False)

        def __init__(self):
            self.jobs: dict[str, JobSpec] = {}

        def submit(self, job):
            self.jobs[job.token] = job
            return job.token

        def poll_many(self, job_ids):
            return {job_id: JobObservation(AttemptStatus.RUNNING, native_state="R") for job_id in job_ids}

        def fetch(self, job_id, dest, include=None, exclude=None):
            pass

        def cancel(self, job_id):
            self.jobs.pop(job_id)

        def find_by_token(self, tokens):
            return {token: token for token in tokens if token in self.jobs}

    backend = Recorder()
    job_id = backend.submit(JobSpec(token="a1", command="true", input_dir=tmp_path, relative_dir="demo/r1/t1/a1"))

    assert backend.find_by_token(["a1", "a2"]) == {"a1": job_id}
    assert backend.poll_many([job_id])[job_id].native_state == "R"
    assert backend.capabilities.shared_filesystem


def test_observation_defaults_and_the_errors_plugins_raise():
    observation = Observation(AttemptStatus.WAITING_EXTERNAL)

    assert (observation.external_id, observation.reason, observation.exit_code) == (None, "", None)
    assert Observation(AttemptStatus.RUNNING, data={"native_state": "R"}) == Observation(AttemptStatus.RUNNING)
    assert TransientOperatorError is errors.TransientOperatorError
    assert PermanentOperatorError is errors.PermanentOperatorError


class CheckedEcho(EchoOperator):
    def doctor(self):
        return [("echo service", True, "answers"), ("quota", False, "0 of 10 jobs left")]


class ScopeQueue(ComputeBackend):
    """A backend with checks of its own; its jobs are never asked about here."""

    capabilities = BackendCapabilities(shared_filesystem=True, accounting=False, needs_ssh=False)

    def __init__(self, settings, context):
        pass

    def doctor(self):
        return [("queue", True, "scope queue reachable")]

    submit = poll_many = fetch = cancel = find_by_token = None


class DoctorPlugin:
    @hookimpl
    def matterstack_operator_kinds(self, register):
        register("echo", CheckedEcho)

    @hookimpl
    def matterstack_compute_backends(self, register):
        register("scope", ScopeQueue)


def test_doctor_is_part_of_both_interfaces_and_checks_nothing_by_default(tmp_path):
    operator = EchoOperator("echo.default", None, OperatorContext(run_id="r1", run_dir=tmp_path, workspace_slug="d", host=None))

    assert operator.doctor() == [] and ComputeBackend.doctor(None) == []


def test_matterstack_doctor_asks_each_operator_and_a_compute_kind_asks_its_backend(tmp_path):
    # given an operator with checks, a compute kind over a backend with checks, and one with none
    host = PluginHost.load(environ={"MATTERSTACK_LOAD_PLUGINS": ""})
    host.pm.register(DoctorPlugin(), name="doctor-test")
    document = {"operators": {"echo.default": {"kind": "echo"}, "hpc.scope": {"kind": "hpc", "backend": {"type": "scope"}},
                              "local.default": {"kind": "local"}}}
    wiring = build_wiring(document, host=host, filename="operators.yaml", source="test")
    registry = OperatorRegistry(wiring, host, lambda: OperatorContext(run_id="doctor", run_dir=tmp_path,
                                                                      workspace_slug="doctor", host=host))

    # when
    checks = instance_checks(registry)

    # then
    assert checks == {
        "echo.default": [("echo service", True, "answers"), ("quota", False, "0 of 10 jobs left")],
        "hpc.scope": [("queue", True, "scope queue reachable")],
        "local.default": [],
    }
