"""Meta-tests: every hook has a test, a one-line reference docstring naming its arguments,
and a section in docs/plugins.md with its exact signature."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from matterstack.plugins import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(
    name for name, value in vars(hookspecs).items() if callable(value) and hasattr(value, "matterstack_spec")
)


def test_the_hooks_are_the_four_of_the_contract():
    assert HOOKS == [
        "matterstack_attempt_transition",
        "matterstack_cli",
        "matterstack_compute_backends",
        "matterstack_operator_kinds",
    ]


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    tests = "\n".join(path.read_text() for path in (ROOT / "tests").rglob("test_*.py"))

    assert re.search(rf"def test_hook_{hook}_", tests), f"no test_hook_{hook}_... in tests/"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_one_line_docstring_naming_its_arguments(hook):
    spec = getattr(hookspecs, hook)
    doc = inspect.getdoc(spec)

    assert doc and "\n" not in doc
    for argument in inspect.signature(spec).parameters:
        assert f"``{argument}" in doc


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_exact_signature(hook):
    signature = f"{hook}({', '.join(inspect.signature(getattr(hookspecs, hook)).parameters)})"

    assert f"`{signature}`" in (ROOT / "docs" / "plugins.md").read_text()
