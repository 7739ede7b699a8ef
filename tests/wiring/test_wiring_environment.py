"""Settings supplied by environment variables are pinned with the run: the snapshot's
metadata.json records the variable and its value (a secret's variable only), later ticks read
the recorded value whatever the environment says then, and a secret is read afresh each time."""

from __future__ import annotations

import json

import attrs
import pytest
from wiring_kit import Tasks, shell_task

from matterstack.orchestrator.api import initialize_run
from matterstack.plugins import hookimpl, setting
from matterstack.wiring import load_run_wiring

SITE = """
    operators:
      telescope.default: {kind: telescope}
      hpc.lab: {kind: hpc, backend: {type: scope_queue}}
"""


@attrs.frozen
class TelescopeSettings:
    max_concurrent: int | None = setting(None, help="most attempts active at once")
    dome: str = setting(help="which dome to use", env="TEST_TELESCOPE_DOME")
    token: str | None = setting(None, help="the observatory's API token", env="TEST_TELESCOPE_TOKEN", secret=True)


@attrs.frozen
class ScopeQueueSettings:
    slots: int = setting(1, help="jobs at once", env="TEST_SCOPE_SLOTS")


class TelescopePlugin:
    @hookimpl
    def matterstack_operator_kinds(self, register):
        register("telescope", lambda key, settings, context: None, settings=TelescopeSettings)

    @hookimpl
    def matterstack_compute_backends(self, register):
        register("scope_queue", lambda settings, context: None, settings=ScopeQueueSettings)


@pytest.fixture
def telescope_host(host):
    host.pm.register(TelescopePlugin(), name="telescope-test")
    return host


@pytest.fixture
def handle(tmp_path):
    return initialize_run("ws", Tasks([shell_task("a")]), base_path=tmp_path / "workspaces", run_id="r1")


def metadata(handle) -> dict:
    return json.loads((handle.root_path / "operators_snapshot/metadata.json").read_text())


def test_the_snapshot_records_each_variable_that_supplied_a_setting_and_never_a_secrets_value(
        handle, write, telescope_host, monkeypatch):
    # given the variables set when the run is pinned
    monkeypatch.setenv("TEST_TELESCOPE_DOME", "north")
    monkeypatch.setenv("TEST_TELESCOPE_TOKEN", "s3cret")
    monkeypatch.setenv("TEST_SCOPE_SLOTS", "4")

    # when
    wiring = load_run_wiring(handle, operators_config=write("site/operators.yaml", SITE), host=telescope_host)

    # then
    settings = wiring.instances["telescope.default"].settings
    assert (settings.dome, settings.token) == ("north", "s3cret")
    assert wiring.instances["hpc.lab"].settings.backend == {"type": "scope_queue", "slots": 4}
    assert metadata(handle)["environment"] == [
        {"key": "operators.telescope.default.dome", "variable": "TEST_TELESCOPE_DOME", "value": "north"},
        {"key": "operators.telescope.default.token", "variable": "TEST_TELESCOPE_TOKEN", "secret": True},
        {"key": "operators.hpc.lab.backend.slots", "variable": "TEST_SCOPE_SLOTS", "value": "4"},
    ]
    snapshot = "".join(path.read_text() for path in (handle.root_path / "operators_snapshot").iterdir())
    assert "s3cret" not in snapshot


def test_later_ticks_read_the_recorded_values_and_the_secret_afresh(handle, write, telescope_host, monkeypatch):
    # given a run pinned with these variables
    monkeypatch.setenv("TEST_TELESCOPE_DOME", "north")
    monkeypatch.setenv("TEST_TELESCOPE_TOKEN", "first")
    monkeypatch.setenv("TEST_SCOPE_SLOTS", "4")
    load_run_wiring(handle, operators_config=write("site/operators.yaml", SITE), host=telescope_host)

    # when the environment changes before the next tick
    monkeypatch.setenv("TEST_TELESCOPE_DOME", "south")
    monkeypatch.setenv("TEST_TELESCOPE_TOKEN", "rotated")
    monkeypatch.delenv("TEST_SCOPE_SLOTS")
    wiring = load_run_wiring(handle, host=telescope_host)

    # then the run keeps what it was pinned with, except the secret
    settings = wiring.instances["telescope.default"].settings
    assert (settings.dome, settings.token) == ("north", "rotated")
    assert wiring.instances["hpc.lab"].settings.backend == {"type": "scope_queue", "slots": 4}


def test_a_snapshot_without_a_record_of_its_environment_reads_the_environment_as_before(
        handle, write, telescope_host, monkeypatch):
    # given a run pinned before the environment was recorded
    monkeypatch.setenv("TEST_TELESCOPE_DOME", "north")
    load_run_wiring(handle, operators_config=write("site/operators.yaml", SITE), host=telescope_host)
    path = handle.root_path / "operators_snapshot/metadata.json"
    path.write_text(json.dumps({key: value for key, value in metadata(handle).items() if key != "environment"}))

    # when
    monkeypatch.setenv("TEST_TELESCOPE_DOME", "south")
    wiring = load_run_wiring(handle, host=telescope_host)

    # then
    assert wiring.instances["telescope.default"].settings.dome == "south"


def test_a_required_setting_left_out_names_its_variable(handle, write, telescope_host, monkeypatch):
    monkeypatch.delenv("TEST_TELESCOPE_DOME", raising=False)
    site = write("site/operators.yaml", SITE)

    with pytest.raises(Exception) as raised:
        load_run_wiring(handle, operators_config=site, host=telescope_host)

    assert raised.value.one_line() == (
        f"{site}: operators.telescope.default.dome: required key is missing "
        "(fix: add it, or set the environment variable TEST_TELESCOPE_DOME)")
