"""What ``matterstack plugin new KIND`` writes: a plugin distribution for one operator kind
that installs and passes MatterStack's conformance kit as written.

The kind runs each task's command with a shell, through
:class:`~matterstack.operators.command.CommandOperator` (staging, the detached process,
collection); its author replaces ``command`` and the settings class with their own. The
README's settings table is made from the written settings class by the code behind
``matterstack plugins --settings``, and a test of the distribution keeps the two in step.
"""

from __future__ import annotations

import sys
import types
from importlib import metadata
from pathlib import Path

from matterstack.errors import ConfigError

PYPROJECT = '''\
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "{distribution}"
version = "0.1.0"
description = "Operator kind {kind} for MatterStack"
readme = "README.md"
requires-python = ">=3.10"
dependencies = [
    "matterstack-core>={core_version}",
]

[project.optional-dependencies]
test = ["pytest"]

[project.entry-points.matterstack]
{kind} = "{package}.register"

[tool.hatch.build.targets.wheel]
packages = ["src/{package}"]
'''

INIT = '''\
"""Operator kind ``{kind}`` for MatterStack."""
'''

REGISTER = '''\
"""Registers operator kind ``{kind}`` with MatterStack.

Kept small on purpose: every ``matterstack`` command imports this module, never the operator.
"""

from __future__ import annotations

import attrs

from matterstack.plugins import LazyFactory, hookimpl, setting


@attrs.frozen
class {title}Settings:
    """Kind ``{kind}``: the keys an instance takes in operators.yaml (``max_concurrent`` too)."""

    shell: str = setting("/bin/sh", help="the shell that runs the task's command, as `<shell> -c <command>`")


@hookimpl
def matterstack_operator_kinds(register):
    register("{kind}", LazyFactory("{package}.operator:{title}Operator"), settings={title}Settings)
'''

OPERATOR = '''\
"""The ``{kind}`` operator.

:class:`~matterstack.plugins.CommandOperator` stages the task's files, starts the command as
a detached process group tagged with the attempt token (submitted twice, it runs once; after
a crash, ``reconcile`` finds it), polls it, stops it on ``cancel`` and collects its outputs
with their sha256. This kind only says how the command starts.
"""

from __future__ import annotations

from matterstack.plugins import AttemptContext, CommandOperator


class {title}Operator(CommandOperator):
    """Runs each attempt's command with ``settings.shell`` in its attempt directory."""

    def command(self, attempt: AttemptContext) -> list[str]:
        return [self.settings.shell, "-c", attempt.task.command]
'''

CONFORMANCE_TEST = '''\
"""MatterStack's conformance kit run against kind ``{kind}`` (docs: testing-plugins.md).

The commands run as real processes on this machine, which has no outage a test could cause,
so the transient-error tests use the kit's named fake (their test ids say
``fake-unreachable``); override ``unavailable`` once the kind talks to a system that can be down.
"""

from __future__ import annotations

from matterstack.testing import OperatorConformance


class Test{title}Conformance(OperatorConformance):
    operator_key = "{kind}.default"
    invalid_settings = [
        ({{"shell": 5}}, "operators.{kind}.default.shell: expected a string, found an integer"),
        ({{"max_concurrent": "many"}}, "operators.{kind}.default.max_concurrent: expected an integer, found a string"),
    ]

    def operator_settings(self, tmp_path):
        return {{"max_concurrent": 4}}
'''

README_TEST = '''\
"""README.md shows the settings table that ``matterstack plugins --settings {kind}`` prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_shows_the_settings_table_of_the_installed_kind():
    printed = subprocess.run([sys.executable, "-m", "matterstack", "plugins", "--settings", "{kind}"],
                             capture_output=True, text=True, check=True, timeout=120).stdout

    table = printed.split("\\n\\n", 1)[1]
    assert table in README.read_text(), f"README.md's settings table is not:\\n{{table}}"
'''

README = '''\
# {distribution}

Operator kind `{kind}` for [MatterStack](https://pypi.org/project/matterstack-core/): it runs a
task's command with a shell on this machine, as a detached process that outlives the
`matterstack` command that started it.

```
pip install ./{distribution}
matterstack plugins                 # lists kind {kind}, from {distribution} 0.1.0
```

Route tasks to it in `operators.yaml`:

```yaml
defaults:
  operator: {kind}.default
operators:
  {kind}.default:
    kind: {kind}
    max_concurrent: 4     # optional, as on every instance
```

## Settings
`matterstack plugins --settings {kind}` prints this table, made from `{title}Settings` in
`src/{package}/register.py` (`tests/test_readme.py` checks that the two agree):

{settings_table}
## Tests
`pip install -e './{distribution}[test]'`, then `python -m pytest tests`:
`tests/test_conformance.py` runs MatterStack's conformance kit against the kind.
'''


def distribution_files(kind: str, core_version: str) -> dict[str, str]:
    """The files of kind ``kind``'s distribution, by path relative to its folder."""
    names = {
        "kind": kind,
        "title": "".join(part.capitalize() for part in kind.split("_")),
        "package": f"matterstack_ops_{kind}",
        "distribution": f"matterstack-ops-{kind.replace('_', '-')}",
        "core_version": core_version,
    }
    package = f"src/{names['package']}"
    files = {
        "pyproject.toml": PYPROJECT.format(**names),
        f"{package}/__init__.py": INIT.format(**names),
        f"{package}/register.py": REGISTER.format(**names),
        f"{package}/operator.py": OPERATOR.format(**names),
        "tests/test_conformance.py": CONFORMANCE_TEST.format(**names),
        "tests/test_readme.py": README_TEST.format(**names),
    }
    table = _settings_table(files[f"{package}/register.py"], f"{names['package']}.register", f"{names['title']}Settings")
    files["README.md"] = README.format(settings_table=table, **names)
    return files


def _settings_table(source: str, module_name: str, class_name: str) -> str:
    """The settings table of class ``class_name`` defined by ``source``, a registration module
    not installed yet, made as ``plugins --settings`` makes it."""
    from matterstack.plugins.settings_docs import settings_table

    module = types.ModuleType(module_name)
    sys.modules[module_name] = module  # the table reads the class's annotations through its module
    try:
        exec(compile(source, f"<{module_name}>", "exec"), module.__dict__)
        return settings_table(getattr(module, class_name))
    finally:
        del sys.modules[module_name]


def write_distribution(kind: str, folder: Path, host) -> list[Path]:
    """Write kind ``kind``'s distribution into ``folder`` (new or empty); the files written.
    A kind name that is not one, a kind already installed or a folder with files in it is a
    ConfigError."""
    from matterstack.plugins.registrations import NAME_RULE

    where = f"plugin new {kind}"
    if not NAME_RULE.match(kind):
        raise ConfigError(f"{kind!r} is not a kind name", where=where,
                          fix="use lowercase letters, digits and _, starting with a letter (e.g. telescope)")
    if kind in host.operator_kinds:
        owner = host.operator_kinds[kind].distribution
        raise ConfigError(f"operator kind {kind!r} is already provided by {owner}", where=where,
                          fix="choose another name; two distributions claiming one kind are refused at load")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ConfigError(f"{folder} already exists and is not an empty folder", where=where,
                          fix="name a new folder with --dir, or remove this one")
    written = []
    for relative, text in distribution_files(kind, metadata.version("matterstack-core")).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
