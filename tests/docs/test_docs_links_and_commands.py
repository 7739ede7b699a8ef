"""docs/ is browsable and names only what exists: every relative link (in docs/ and the root
README) resolves to a file and heading, docs/README.md indexes every page, and every
``matterstack ...`` command written in a page names real commands and options of the app."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from matterstack.cli.reference import command_tree

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), REPO / "README.md"]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
SHELL_BLOCKS = {"console", "sh", "shell", "bash", ""}
SEPARATORS = {"|", "||", "&&", ";", "&", ">", ">>", "<", "2>", "2>&1", ")"}
PLACEHOLDER_WORDS = {"", "OPTIONS", "COMMAND", "ARGS", "PLACEHOLDER"}


def prose(text: str) -> str:
    """The page without its fenced blocks."""
    return FENCE.sub("", text)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {github_anchor(m) for m in re.findall(r"^#+ (.*)$", prose(page.read_text()), re.MULTILINE)}


def relative_links(page: Path) -> list[str]:
    text = INLINE_CODE.sub("", prose(page.read_text()))
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name if p.parent == DOCS else "README.md (root)")
def test_every_relative_link_resolves_to_a_file_and_heading(page):
    broken = []
    for target in relative_links(page):
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading with anchor #{anchor} in {destination.name}")

    assert not broken, f"{page.name}: {broken}"


def test_the_docs_index_lists_every_page_and_the_root_readme_links_to_it():
    indexed = {target.partition("#")[0] for target in relative_links(DOCS / "README.md")}

    assert {p.name for p in DOCS.glob("*.md")} - {"README.md"} <= indexed
    assert "docs/README.md" in relative_links(REPO / "README.md")


def command_lines(page: Path) -> list[str]:
    """Shell lines of ``page`` that run something: ``$`` lines of console blocks, every line of
    sh blocks (continuations joined), and inline code."""
    text = page.read_text()
    lines = []
    for language, body in FENCE.findall(text):
        if language not in SHELL_BLOCKS:
            continue
        for line in body.replace("\\\n", " ").splitlines():
            if line.startswith("$ "):
                lines.append(line[2:])
            elif language in {"sh", "shell", "bash"} or (language == "" and line.startswith("matterstack ")):
                lines.append(line)
    return lines + INLINE_CODE.findall(prose(text))


def words(line: str) -> list[str]:
    """Shell words, placeholders like ``<run>`` made plain words, comments dropped."""
    line = re.sub(r"<[^<>\s]+>", "PLACEHOLDER", line)
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote in prose-like inline code
        return line.split()


def invocations(line: str) -> list[list[str]]:
    """The argument lists following each ``matterstack`` word of ``line``, up to a separator."""
    found, tokens = [], words(line)
    for index, token in enumerate(tokens):
        assignment = tokens[index + 1:index + 2] == ["="]  # an entry point: matterstack = "module"
        if token.rsplit("/", 1)[-1] == "matterstack" and not assignment:
            arguments = []
            for argument in tokens[index + 1:]:
                if argument in SEPARATORS:
                    break
                arguments.append(argument)
            found.append(arguments)
    return found


def problems_of(arguments: list[str], root) -> list[str]:
    """What in ``matterstack <arguments>`` the app does not have (empty: all real)."""
    import typer

    command, path, problems = root, ["matterstack"], []
    pending_value = False
    for raw in arguments:
        if pending_value:
            pending_value = False
            continue
        token = raw.rstrip(".").strip("[]")
        if token in PLACEHOLDER_WORDS or token.startswith("{"):
            continue
        if token.startswith("-"):
            name = token.split("=", 1)[0]
            if name == "--help":
                continue
            option = next((p for p in command.params if name in (*p.opts, *p.secondary_opts)), None)
            if option is None:
                problems.append(f"`{' '.join(path)}` has no option {name}")
            else:
                pending_value = not (option.is_flag or option.count) and "=" not in token and raw == token
            continue
        if hasattr(command, "list_commands"):
            sub = command.get_command(typer.Context(command), token)
            if sub is None:
                problems.append(f"`{' '.join(path)}` has no command {token!r}")
                break
            command, path = sub, [*path, token]
    return problems


def test_the_checker_catches_a_wrong_command_and_a_wrong_option():
    root = command_tree()

    assert problems_of(["human", "respond", "PLACEHOLDER", "t", "--approve", "--data", "k=v"], root) == []
    assert problems_of(["stepp", "r1"], root) == ["`matterstack` has no command 'stepp'"]
    assert problems_of(["--debug", "loop", "--intervall", "1"], root) == ["`matterstack loop` has no option --intervall"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name if p.parent == DOCS else "README.md (root)")
def test_every_matterstack_command_in_the_docs_is_real(page):
    root = command_tree()

    problems = [f"{line!r}: {problem}" for line in command_lines(page)
                for arguments in invocations(line) for problem in problems_of(arguments, root)]

    assert not problems, f"{page.name} names what the app does not have: {problems}"
