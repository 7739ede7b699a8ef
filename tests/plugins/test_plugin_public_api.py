"""``matterstack.plugins`` is everything a plugin needs: the example third-party
distributions and the first-party ones (``matterstack-ops-human``, ``-slurm``,
``-experiment``) import nothing else from MatterStack, and every exported name resolves and
is documented."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import matterstack.plugins

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PLUGINS = ("matterstack-ops-shell", "matterstack-observer-jsonl")
FIRST_PARTY_PLUGINS = ("matterstack-ops-human", "matterstack-ops-slurm", "matterstack-ops-experiment")
PUBLIC_MODULES = {"matterstack", "matterstack.plugins", "matterstack.errors", "matterstack.testing"}


def example_modules() -> list[Path]:
    """Every module of the example plugin packages and their tests (not the demo campaign
    beside them: a campaign is user code, which imports ``matterstack``'s user API)."""
    return sorted(p for name in EXAMPLE_PLUGINS for part in ("src", "tests")
                  for p in (ROOT / "examples" / name / part).rglob("*.py"))


def first_party_modules() -> list[Path]:
    """Every module of the plugin distributions this repository ships."""
    return sorted(p for name in FIRST_PARTY_PLUGINS for p in (ROOT / name / "src").rglob("*.py"))


def matterstack_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import of a ``matterstack`` module in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return [(line, module) for line, module in found if module.split(".")[0] == "matterstack"]


def test_the_example_plugins_have_source_to_check():
    modules = {p.relative_to(ROOT / "examples").as_posix() for p in example_modules()}

    assert "matterstack-ops-shell/src/matterstack_ops_shell/register.py" in modules
    assert "matterstack-ops-shell/tests/test_conformance.py" in modules
    assert "matterstack-observer-jsonl/src/matterstack_observer_jsonl/observer.py" in modules


def private_imports(path: Path) -> list[str]:
    """``line N: module`` of every import of a MatterStack module outside the public API."""
    return [f"line {line}: {module}" for line, module in matterstack_imports(path) if module not in PUBLIC_MODULES]


@pytest.mark.parametrize("path", example_modules(), ids=lambda p: p.relative_to(ROOT / "examples").as_posix())
def test_example_plugins_import_only_the_public_plugin_api(path):
    private = private_imports(path)

    assert not private, f"{path.name} imports private MatterStack modules: {private}"


def test_the_first_party_plugins_have_source_to_check():
    modules = {p.relative_to(ROOT).as_posix() for p in first_party_modules()}

    for kind in ("human", "slurm", "experiment"):
        assert f"matterstack-ops-{kind}/src/matterstack_ops_{kind}/register.py" in modules


@pytest.mark.parametrize("path", first_party_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_first_party_plugins_import_only_the_public_plugin_api(path):
    private = private_imports(path)

    assert not private, f"{path.relative_to(ROOT)} imports private MatterStack modules: {private}"


def test_the_import_check_allows_the_public_modules_and_refuses_a_submodule_of_the_plugin_api(tmp_path):
    source = tmp_path / "plugin.py"
    source.write_text(
        "import matterstack\nfrom matterstack.errors import MatterStackError\n"
        "from matterstack.plugins import AttemptStatus\nfrom matterstack.plugins.interfaces import JobSpec\n"
    )

    assert private_imports(source) == ["line 4: matterstack.plugins.interfaces"]


def test_the_import_check_sees_imports_inside_functions_and_type_checking_blocks(tmp_path):
    source = tmp_path / "plugin.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import matterstack.plugins\n"
        "if TYPE_CHECKING:\n    from matterstack.core.records import AttemptEvent\n"
        "def build():\n    import matterstack.orchestrator.api as api\n"
    )

    assert matterstack_imports(source) == [
        (2, "matterstack.plugins"), (4, "matterstack.core.records"), (6, "matterstack.orchestrator.api"),
    ]


@pytest.mark.parametrize("name", matterstack.plugins.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(matterstack.plugins, name) is not None


@pytest.mark.parametrize("name", ["AttemptEvent", "Task", "FileFromContent", "FileFromPath", "ConfigError"])
def test_what_observers_and_plugin_tests_need_is_exported(name):
    assert name in matterstack.plugins.__all__


@pytest.mark.parametrize("name", matterstack.plugins.__all__)
def test_every_exported_name_is_documented(name):
    docs = (ROOT / "docs" / "plugins.md").read_text() + (ROOT / "docs" / "writing-a-plugin.md").read_text()

    assert f"`{name}" in docs, f"matterstack.plugins.{name} is not mentioned in docs/plugins.md"


def test_importing_the_plugin_api_for_registration_loads_no_model_or_store():
    code = (
        "import sys; from matterstack.plugins import LazyFactory, hookimpl, setting; "
        "print(sorted(m for m in sys.modules if m.startswith(('matterstack.core', 'matterstack.store', 'cattrs'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert loaded.strip() == "[]"


@pytest.mark.parametrize("interface", ["Operator", "ComputeBackend"])
def test_every_method_of_the_interfaces_is_documented(interface):
    cls = getattr(matterstack.plugins, interface)
    methods = [name for name in vars(cls) if not name.startswith("_")]
    docs = (ROOT / "docs" / "plugins.md").read_text()

    assert [name for name in methods if f"`{name}" not in docs] == []
