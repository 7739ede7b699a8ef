"""The parts of ``matterstack`` import each other only along the arrows docs/architecture.md
draws: an import that crosses a forbidden arrow fails here, naming the file, line and module.

Every import counts: at module level, inside a function, under ``TYPE_CHECKING``, and a
module named in a lazy export table (a string such as ``"matterstack.project.view"``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "matterstack-core" / "src" / "matterstack"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

FOUNDATION = frozenset({"errors", "atomic_write", "input_limits", "json_text", "lazy_names", "legacy_imports"})
"""Modules at the bottom: they import nothing of MatterStack but each other."""

LEGACY_PATHS = frozenset({"ai", "campaign", "config", "orchestration", "runtime", "storage"})
"""MatterStack 0.2.x's import paths, kept for user code: each forwards to where its names live now."""

BELOW_CLI = frozenset({"foundation", "file_handshake", "core", "store", "plugins", "plugin API", "project", "wiring",
                       "orchestrator", "operators", "backends"})

ALLOWED = {
    "foundation": set(),
    "file_handshake": {"foundation"},
    "core": {"foundation"},
    "store": {"foundation", "core"},
    "plugins": {"foundation", "core"},
    "project": {"foundation", "core", "store"},
    "wiring": {"foundation", "core", "store", "plugins"},
    "orchestrator": {"foundation", "core", "store", "plugins", "project", "wiring"},
    "operators": {"foundation", "core", "plugins", "backends"},
    "backends": {"foundation", "core", "plugins", "operators", "wiring"},
    "plugin API": {"foundation", "core", "plugins", "project", "operators"},
    "testing": {"foundation", "core", "store", "plugins", "plugin API", "project", "wiring", "orchestrator"},
    "legacy paths": set(BELOW_CLI),
    "user API": set(BELOW_CLI),
    "cli": BELOW_CLI | {"testing"},
    "__main__": {"cli"},
}
"""Which parts each part may import besides itself (``foundation``: :data:`FOUNDATION`; the
package's ``__init__`` is the user API, ``plugins/__init__`` the plugin API; the modules
under ``plugins/`` are the plugin host)."""

EXCEPTIONS = {
    ("core/run.py", "matterstack.orchestrator.handle"):
        "0.2.x's matterstack.core.run.RunHandle is a kept legacy import path; the handle lives in the orchestrator",
    ("core/gate.py", "matterstack.file_handshake"):
        "GateTask's 0.2.x wrapper methods run the file handshake; imported inside them, so the model stays pure",
    ("core/external.py", "matterstack.file_handshake"):
        "ExternalTask's 0.2.x wrapper methods run the file handshake; imported inside them, so the model stays pure",
    ("operators/compute.py", "matterstack.orchestrator.back_pressure"):
        "the compute kinds read the operator_data key the tick writes for an attempt refused for now (BACK_PRESSURE)",
    ("plugins/__init__.py", "matterstack.orchestrator.configured_operators"):
        "a plugin's command builds the operators of an operators.yaml exactly as a run does",
}
"""Imports that cross an arrow on purpose: ``(file under matterstack/, module)`` and why."""

MODULE_PATH = re.compile(r"matterstack(\.[a-z_][a-z0-9_]*)+\Z")


def is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def part_of(module: str) -> str:
    """The part of the architecture ``module`` belongs to."""
    if module == "matterstack":
        return "user API"
    if module == "matterstack.plugins":
        return "plugin API"
    top = module.split(".")[1]
    if top in FOUNDATION:
        return "foundation"
    return "legacy paths" if top in LEGACY_PATHS else top


def imported_modules(path: Path, name: str | None = None) -> list[tuple[int, str]]:
    """``(line, module)`` of every ``matterstack`` module ``path`` imports (``from P import m``
    counts as module ``P.m`` when ``m`` is one)."""
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found += [(node.lineno, f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base)
                      for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_PATH.match(node.value) \
                and is_module(node.value):
            found.append((node.lineno, node.value))
    return [(line, module) for line, module in found if module.split(".")[0] == "matterstack"]


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def crossings(where: str, imports: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The ``imports`` of the module at ``where`` (under ``matterstack/``) that no arrow allows
    and no exception names."""
    source = part_of(module_name(PACKAGE / where))
    return [(line, module) for line, module in imports
            if part_of(module) not in ALLOWED[source] | {source} and (where, module) not in EXCEPTIONS]


def test_every_module_belongs_to_a_part_the_arrows_name():
    unknown = {part_of(module_name(path)) for path in modules()} - set(ALLOWED)

    assert not unknown, f"add {sorted(unknown)} to ALLOWED here and to docs/architecture.md's arrows"


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_imports_follow_the_allowed_arrows(path):
    where = path.relative_to(PACKAGE).as_posix()
    forbidden = [f"line {line}: {module} ({part_of(module)})" for line, module in crossings(where, imported_modules(path))]

    assert not forbidden, (f"{path.relative_to(PACKAGE)} ({part_of(module_name(path))}) crosses a forbidden arrow: "
                           f"{forbidden}; see docs/architecture.md")


def test_every_listed_exception_is_still_an_import_that_crosses_an_arrow():
    for where, module in EXCEPTIONS:
        path = PACKAGE / where
        assert module in {m for _, m in imported_modules(path)}, f"{where} no longer imports {module}: drop the exception"
        assert part_of(module) not in ALLOWED[part_of(module_name(path))], f"{where} → {module} is an allowed arrow"


def test_wiring_and_the_orchestrator_do_not_import_each_other_and_core_and_store_nothing_above_them():
    assert "orchestrator" not in ALLOWED["wiring"]
    for part in ("core", "store"):
        assert ALLOWED[part] <= {"foundation", "core"}


def test_wiring_importing_the_orchestrator_crosses_a_forbidden_arrow_and_the_orchestrator_importing_wiring_does_not():
    assert crossings("wiring/precedence.py", [(26, "matterstack.orchestrator.operator_registry")]) == \
        [(26, "matterstack.orchestrator.operator_registry")]
    assert crossings("orchestrator/api.py", [(3, "matterstack.wiring.model")]) == []
    assert crossings("core/status.py", [(5, "matterstack.store.lock"), (6, "matterstack.errors")]) == \
        [(5, "matterstack.store.lock")]


def test_the_scan_sees_imports_inside_functions_type_checking_blocks_and_lazy_export_tables(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from matterstack.core import status\n"
        "if TYPE_CHECKING:\n    from matterstack.store.lock import RunLock\n"
        "def build():\n    import matterstack.orchestrator.api as api\n"
        "_HOMES = {'ProjectView': 'matterstack.project.view', 'config': 'matterstack.yaml'}\n"
    )

    assert imported_modules(source, "matterstack.wiring.sample") == [
        (2, "matterstack.core.status"), (4, "matterstack.store.lock"), (6, "matterstack.orchestrator.api"),
        (7, "matterstack.project.view"),
    ]


def documented_arrows() -> dict[str, set[str]]:
    """The arrows table of docs/architecture.md: part → the parts it may import."""
    section = ARCHITECTURE.read_text().split("## Allowed arrows", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    arrows = {}
    for row in rows:
        part, may_import = row.strip("|").split("|")[:2]
        arrows[part.strip().strip("`")] = set(re.findall(r"`([^`]+)`", may_import))
    return arrows


def expanded(parts: set[str]) -> set[str]:
    """A documented set of parts, with ``below cli`` spelled out."""
    return (parts - {"below cli"}) | BELOW_CLI if "below cli" in parts else parts


def test_docs_architecture_shows_exactly_the_arrows_this_test_enforces():
    documented = {part: expanded(parts) for part, parts in documented_arrows().items()}

    assert documented == {part: set(parts) for part, parts in ALLOWED.items()}


def test_docs_architecture_names_every_exception():
    text = ARCHITECTURE.read_text()

    for where, module in EXCEPTIONS:
        assert f"`{where}` → `{module}`" in text
