"""docs/operators.md matches the settings classes, and every operators.yaml shown anywhere in
docs/ is accepted by ``matterstack operators check`` (the profiles it names are the profiles
the docs show; the kinds of the example plugins in examples/ are installed the way an
editable install lays them out). An example plugin's README shows the settings table
``matterstack plugins --settings`` prints for its kind."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from installs import PluginPath, clean_env

from matterstack.cli.reference import first_party_host, settings_rows, settings_table

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
EXAMPLE_PLUGINS = sorted(REPO.glob("examples/*/pyproject.toml"))
PAGE = DOCS / "operators.md"
YAML_FENCE = re.compile(r"```yaml\n(.*?)```", re.DOTALL)
KINDS = ("local", "hpc", "human", "manual_hpc", "experiment")
BACKENDS = ("local", "slurm", "profile", "hpc_yaml")


def registrations():
    host = first_party_host()
    return [*(("kind", r) for r in host.operator_kinds.values()), *(("backend", r) for r in host.compute_backends.values())]


def yaml_documents():
    """``(page, number, text, parsed)`` for every yaml block of docs/ that is not marked refused."""
    for page in sorted(DOCS.glob("*.md")):
        for number, block in enumerate(YAML_FENCE.findall(page.read_text()), start=1):
            if not block.startswith("# refused:"):
                yield page, number, block, yaml.safe_load(block)


def operators_blocks():
    return [pytest.param(text, id=f"{page.name}#{number}")
            for page, number, text, parsed in yaml_documents() if isinstance(parsed, dict) and "operators" in parsed]


def test_the_page_has_a_section_for_each_first_party_kind_and_backend():
    text = PAGE.read_text()

    missing = [f"## Kind `{k}`" for k in KINDS if f"## Kind `{k}`\n" not in text]
    missing += [f"## Backend `{b}`" for b in BACKENDS if f"## Backend `{b}`\n" not in text]

    assert not missing


@pytest.mark.parametrize("category, registration", registrations(), ids=lambda v: getattr(v, "name", v))
def test_each_settings_table_is_the_one_its_settings_class_makes(category, registration):
    # given the section of this kind or backend
    text = PAGE.read_text()
    heading = f"## {category.capitalize()} `{registration.name}`\n"
    assert heading in text, f"docs/operators.md has no section {heading.strip()}"
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]

    # then every field is there with its help text, exactly as generated
    absent = [row for row in settings_rows(registration.settings) if row not in section]
    assert not absent, ("docs/operators.md is missing these settings rows (python -m matterstack.cli.reference"
                        f" --settings prints the tables): {absent}")
    assert settings_table(registration.settings) in section


def test_docs_show_an_operators_yaml_for_each_kind_and_backend():
    kinds, backends = set(), set()
    for param in operators_blocks():
        for block in yaml.safe_load(param.values[0])["operators"].values():
            kinds.add(block["kind"])
            backends.add((block.get("backend") or {}).get("type", "local" if block["kind"] == "hpc" else None))

    assert set(KINDS) <= kinds and set(BACKENDS) <= backends


@pytest.fixture(scope="module")
def docs_profiles(tmp_path_factory) -> Path:
    """One profiles file holding every ``profiles:`` block the docs show."""
    profiles = {}
    for _, _, _, parsed in yaml_documents():
        if isinstance(parsed, dict) and "profiles" in parsed:
            profiles.update(parsed["profiles"])
    path = tmp_path_factory.mktemp("profiles") / "matterstack.yaml"
    path.write_text(yaml.safe_dump({"profiles": profiles}))
    return path


def project_table(pyproject: Path, table: str) -> dict[str, str]:
    """The ``key = "value"`` lines of one table of a pyproject.toml."""
    section = re.search(rf"^\[{re.escape(table)}\]\n(.*?)(?=^\[|\Z)", pyproject.read_text(), re.DOTALL | re.MULTILINE)
    return dict(re.findall(r'^([\w.-]+)\s*=\s*"([^"]*)"', section.group(1), re.MULTILINE)) if section else {}


@pytest.fixture(scope="module")
def example_plugins_env(tmp_path_factory) -> dict[str, str]:
    """An environment seeing the example plugin distributions of examples/ as editable installs:
    their ``matterstack`` entry points in a dist-info, their ``src`` folders on the path."""
    site = PluginPath(tmp_path_factory.mktemp("site"))
    sources = [str(site.folder)]
    for pyproject in EXAMPLE_PLUGINS:
        entry_points = project_table(pyproject, "project.entry-points.matterstack")
        if entry_points:
            project = project_table(pyproject, "project")
            site.add(project["name"], project["version"], entry_points, {})
            sources.append(str(pyproject.parent / "src"))
    return clean_env(PYTHONPATH=os.pathsep.join(sources))


@pytest.mark.parametrize("block", operators_blocks())
def test_each_operators_yaml_in_the_docs_passes_operators_check(block, tmp_path, docs_profiles, example_plugins_env,
                                                                 matterstack_command):
    # given the block as a site's operators.yaml
    (tmp_path / "operators.yaml").write_text(block)

    # when
    result = subprocess.run([*matterstack_command, "operators", "check", "operators.yaml", "--config", str(docs_profiles)],
                            cwd=tmp_path, capture_output=True, text=True, env=example_plugins_env, timeout=120)

    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("operators.yaml: valid,")


@pytest.mark.parametrize("example, kind", [("matterstack-ops-shell", "shell")])
def test_an_example_plugins_readme_shows_the_table_plugins_settings_prints(example, kind, example_plugins_env,
                                                                           matterstack_command, tmp_path):
    # when the installed plugin's settings are asked for
    result = subprocess.run([*matterstack_command, "plugins", "--settings", kind], cwd=tmp_path, capture_output=True,
                            text=True, env=example_plugins_env, timeout=120)

    # then the command names the kind and its distribution, and the README has the same table
    assert result.returncode == 0, result.stderr
    heading, table = result.stdout.split("\n\n", 1)
    assert heading == f"### kind `{kind}` ({example})"
    assert table in (REPO / "examples" / example / "README.md").read_text()
