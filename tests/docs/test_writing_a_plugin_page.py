"""docs/writing-a-plugin.md shows the example plugin's real code: every file it shows (a
fenced block right after a line naming its path) is that file byte for byte, and every source
file of matterstack-ops-shell is shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "writing-a-plugin.md"
PACKAGE = REPO / "examples" / "matterstack-ops-shell"
SHOWN_FILE = re.compile(r"^`(examples/[^`]+)`:\n```\w*\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def shown_files(text: str) -> dict[str, str]:
    """Path → content of every file a page shows; a path shown twice fails."""
    found: dict[str, str] = {}
    for path, content in SHOWN_FILE.findall(text):
        assert path not in found, f"{path} is shown twice"
        found[path] = content
    return found


SHOWN = shown_files(PAGE.read_text())


@pytest.mark.parametrize("path", sorted(SHOWN))
def test_each_shown_file_is_the_example_file_byte_for_byte(path):
    assert (REPO / path).is_file(), f"the page shows {path}, which does not exist"
    assert SHOWN[path].encode() == (REPO / path).read_bytes(), f"the page's copy of {path} differs from the file"


def test_every_source_file_of_the_package_and_its_project_files_are_shown():
    expected = {p.relative_to(REPO).as_posix() for p in (PACKAGE / "src").rglob("*.py")}
    expected |= {f"examples/matterstack-ops-shell/{name}" for name in
                 ("pyproject.toml", "tests/test_conformance.py", "demo/main.py", "demo/operators.yaml")}

    assert expected - set(SHOWN) == set()


def test_the_page_walks_from_an_empty_folder_to_a_published_kind_in_order():
    headings = re.findall(r"^## (.*)$", PAGE.read_text(), re.MULTILINE)
    steps = ["The folder", "pyproject.toml", "The registration module", "The Operator", "Installing",
             "Routing", "conformance kit", "Observers", "Publishing", "Collisions"]

    positions = [next(i for i, h in enumerate(headings) if step in h) for step in steps]
    assert positions == sorted(positions), headings


def test_the_shown_file_pattern_needs_the_path_line_right_before_the_fence():
    text = "`examples/a.py`:\n```python\nx = 1\n```\n\n`examples/b.py`:\n\n```python\ny = 2\n```\n"

    assert shown_files(text) == {"examples/a.py": "x = 1\n"}
