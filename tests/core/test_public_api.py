"""The public ``matterstack`` namespace: lazy, cheap to import, legacy paths kept."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest

import matterstack


def test_importing_matterstack_loads_neither_the_store_nor_the_converter():
    code = (
        "import sys, matterstack; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlite_utils', 'cattrs', 'attrs', 'attr')"
        " or m.startswith('matterstack.')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['matterstack.lazy_names']"  # the 30-line helper that makes the names lazy


def test_model_names_are_the_legacy_import_paths_objects():
    from matterstack.core.campaign import Campaign
    from matterstack.core.external import ExternalTask
    from matterstack.core.gate import GateTask
    from matterstack.core.workflow import FileFromContent, FileFromPath, Task, Workflow

    assert (matterstack.Campaign, matterstack.Task, matterstack.Workflow) == (Campaign, Task, Workflow)
    assert (matterstack.FileFromPath, matterstack.FileFromContent) == (FileFromPath, FileFromContent)
    assert (matterstack.GateTask, matterstack.ExternalTask) == (GateTask, ExternalTask)


def test_version_comes_from_the_installed_distribution():
    assert matterstack.__version__ == importlib.metadata.version("matterstack-core")


def test_all_lists_the_documented_api():
    assert set(matterstack.__all__) == {
        "Campaign", "Task", "Workflow", "RunHandle", "initialize_run", "run_until_completion",
        "step_run", "FileFromPath", "FileFromContent", "GateTask", "ExternalTask", "__version__",
    }
    assert set(matterstack.__all__) <= set(dir(matterstack))


def test_run_api_names_come_from_the_orchestrator():
    import matterstack.orchestrator.api as api

    for name in ("RunHandle", "initialize_run", "run_until_completion", "step_run"):
        assert getattr(matterstack, name) is getattr(api, name)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        matterstack.no_such_thing  # noqa: B018
