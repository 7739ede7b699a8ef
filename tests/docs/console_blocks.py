"""Run the ```console blocks of a docs page as a person would, and compare what they print.

A block is a sequence of ``$ command`` lines, each followed by its output. ``...`` in an
output line stands for any text; a line that is only ``...`` for any number of lines.
``$ echo $?`` prints the exit code of the command before it. Commands run through the shell
(so ``VAR=value matterstack ...`` works) with the tested ``matterstack`` first on PATH.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import attrs

TAGGED_BLOCK = re.compile(r"<!-- scenario: ([\w-]+) -->\n```console\n(.*?)```", re.DOTALL)
ANY_CONSOLE_BLOCK = re.compile(r"```console\n(.*?)```", re.DOTALL)


@attrs.frozen
class Step:
    """One ``$ command`` of a block and the lines shown after it."""

    command: str
    expected: tuple[str, ...]


def tagged_blocks(page: Path) -> dict[str, str]:
    """``{scenario: block}`` of the blocks preceded by ``<!-- scenario: name -->``."""
    blocks = {}
    for name, block in TAGGED_BLOCK.findall(page.read_text()):
        assert name not in blocks, f"{page.name}: scenario {name!r} is tagged twice"
        blocks[name] = block
    return blocks


def untagged_blocks(page: Path) -> list[str]:
    """Console blocks of ``page`` no scenario tag introduces (a tested page should have none)."""
    tagged = set(tagged_blocks(page).values())
    return [block for block in ANY_CONSOLE_BLOCK.findall(page.read_text()) if block not in tagged]


def steps(block: str) -> list[Step]:
    """The commands of ``block`` with their expected output lines."""
    result: list[Step] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            result.append(Step(line[2:], ()))
        else:
            assert result, f"output before the first command: {line!r}"
            result[-1] = Step(result[-1].command, (*result[-1].expected, line))
    return result


def output_pattern(expected: tuple[str, ...]) -> re.Pattern[str]:
    """A regular expression matching the whole output that ``expected`` describes."""
    parts = []
    for line in expected:
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(re.escape(piece) for piece in line.split("...")) + r"\n")
    return re.compile("".join(parts))


@attrs.define
class Console:
    """A shell in ``cwd`` with ``env``; ``shown_as`` rewrites real text (a temporary path) into
    the text the page shows (``/home/alice/project``) before comparing."""

    cwd: Path
    env: dict[str, str]
    bin_dir: Path
    shown_as: dict[str, str] = attrs.field(factory=dict)

    def output(self, command: str) -> subprocess.CompletedProcess:
        """Run ``command`` through the shell, stderr merged into stdout as a terminal shows them."""
        env = {**self.env, "PATH": f"{self.bin_dir}{os.pathsep}{self.env.get('PATH', os.defpath)}"}
        return subprocess.run(command, shell=True, cwd=self.cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=180)

    def replay(self, block: str) -> None:
        """Run every command of ``block``; fail naming the first whose output differs."""
        exit_code = None
        for step in steps(block):
            if step.command == "echo $?":
                shown = f"{exit_code}\n"
            else:
                result = self.output(step.command)
                exit_code, shown = result.returncode, result.stdout
                for real, page in self.shown_as.items():
                    shown = shown.replace(real, page)
            expected = "\n".join(step.expected)
            assert output_pattern(step.expected).fullmatch(shown), (
                f"`$ {step.command}` printed:\n{shown}\nbut the page shows:\n{expected}")
