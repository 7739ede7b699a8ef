"""A request as the page shows it: its address, its instructions rendered from markdown, the
files of its attempt folder a person may open, and whether it is answered already.

Instructions are markdown with raw HTML turned off (a tag shows as text) and markdown-it's
link check (no ``javascript:`` links); a relative link or image points into the request's
own folder, as it would next to ``instructions.md``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import quote, urlsplit

import attrs
from markdown_it import MarkdownIt
from markupsafe import Markup

from matterstack.errors import MatterStackError

from matterstack_ops_human.handoff import INSTRUCTIONS_FILE, dropped_files
from matterstack_ops_human.human import CONTROL_FILES
from matterstack_ops_human.pending import MANUAL_HPC_KIND, HUMAN_KIND, Request, age
from matterstack_ops_human.response import RESPONSE_FILE, data_schema_for, read_answer
from matterstack_ops_human.answering import answered_by

MARKDOWN = MarkdownIt("commonmark", {"html": False})


def request_url(run_id: str, task_id: str) -> str:
    """The page of one request: ``/r/<run>/<task>/`` (its files are below it)."""
    return f"/r/{quote(run_id, safe='')}/{quote(task_id, safe='')}/"


def reviewable_files(request: Request) -> dict[str, Path]:
    """The files of the request's attempt folder a person may open, by relative name: not
    the control files, hidden files, nor links that lead out of the folder."""
    return dropped_files(request.attempt_dir, set(CONTROL_FILES))


def render_markdown(text: str, base_url: str) -> Markup:
    """``text`` as HTML, relative links and images made to point below ``base_url``."""
    tokens = MARKDOWN.parse(text)
    for token in tokens:
        for child in token.children or ():
            attribute = {"link_open": "href", "image": "src"}.get(child.type)
            target = child.attrGet(attribute) if attribute else None
            if isinstance(target, str) and _relative(target):
                child.attrSet(attribute, base_url + target)
    return Markup(MARKDOWN.renderer.render(tokens, MARKDOWN.options, {}))


def _relative(url: str) -> bool:
    parts = urlsplit(url)
    return not (parts.scheme or parts.netloc or url.startswith(("/", "#", "?")))


def answered_text(request: Request) -> str | None:
    """``Approved by Ada at ...`` when a final answer waits in the folder for the next tick."""
    try:
        answer = read_answer(request.attempt_dir, data_schema_for(request.task, request.attempt_dir))
    except (MatterStackError, OSError):  # a bad schema or an oversized answer: shown as not answered
        return None
    if answer is None or not answer.valid or answer.status == "WAITING":
        return None
    verdict = "Approved" if answer.status == "COMPLETED" else "Rejected"
    return (f"{verdict} {answered_by(request.attempt_dir / RESPONSE_FILE)}. "
            f"The next `matterstack step {request.run_id}` (or a running loop) hands the answer to the campaign.")


@attrs.frozen
class ShownFile:
    name: str
    url: str


@attrs.frozen
class ShownRequest:
    """What the templates show of one request."""

    run_id: str
    task_id: str
    operator_key: str
    attempt_index: int
    since: str
    age: str
    url: str
    anchor: str
    instructions_html: Markup
    files: tuple[ShownFile, ...]
    answerable: bool


def shown(request: Request) -> ShownRequest:
    url = request_url(request.run_id, request.task.task_id)
    try:
        instructions = (request.attempt_dir / INSTRUCTIONS_FILE).read_text(errors="replace")
    except OSError:
        instructions = request.summary
    files = tuple(ShownFile(name, url + quote(name)) for name in sorted(reviewable_files(request)))
    return ShownRequest(
        run_id=request.run_id, task_id=request.task.task_id, operator_key=request.operator_key or "?",
        attempt_index=request.attempt.attempt_index,
        since=request.since.strftime("%Y-%m-%d %H:%M UTC") if request.since else "?", age=age(request.since),
        url=url, anchor=f"{request.run_id}-{request.task.task_id}", instructions_html=render_markdown(instructions, url),
        files=files, answerable=request.kind == HUMAN_KIND)


def fingerprint(requests: list[Request]) -> str:
    """Changes when a request appears, is answered or goes: what the page polls for."""
    seen = [(r.run_id, r.task.task_id, r.attempt.attempt_id, (r.attempt_dir / RESPONSE_FILE).exists())
            for r in requests]
    return hashlib.sha256(json.dumps(seen).encode()).hexdigest()[:16]


def bundle_note(request: Request) -> str | None:
    """What a job bundle (``manual_hpc``) asks instead of a form."""
    if request.kind != MANUAL_HPC_KIND:
        return None
    from matterstack_ops_human.manual_hpc import OUTPUT_DIR, STATUS_FILE

    return (f"This is a job bundle to run by hand: its answer is the job's results, not a form. Copy "
            f"{OUTPUT_DIR}/ and then {STATUS_FILE} back into {request.attempt_dir}.")
