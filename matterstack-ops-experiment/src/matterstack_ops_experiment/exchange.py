"""The exchange folder: one sub-folder per request, named by its attempt token.

``<exchange_dir>/<token>/`` holds the request (``experiment_request.json`` and its input
files), and later the lab's claim (``.experiment_claim``), answer (``experiment_result.json``
and its files) or a withdrawal (``experiment_cancel.json``). Many runs share one exchange
because tokens are unique. Both the operator (kind ``experiment`` with ``exchange_dir``) and
the lab agent's HTTP API publish requests here, with the same atomic, idempotent step.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
from pathlib import Path
from typing import Any

from matterstack.plugins import ANSWER_FILE_LIMIT, InputLimitError, read_within_limit, utc_now

from matterstack_ops_experiment.protocol import (
    CANCEL_FILE,
    CLAIM_FILE,
    COMPLETED,
    FAILED,
    REQUEST_FILE,
    RESULT_FILE,
    decode_json,
    is_token,
    name_problem,
    read_json,
    write_bytes_atomic,
    write_json_atomic,
)

PENDING, CLAIMED, ANSWERED, CANCELLED = "PENDING", "CLAIMED", "ANSWERED", "CANCELLED"


def request_dir(exchange_dir: Path, token: str) -> Path:
    """The folder of request ``token``; ``ValueError`` for a token that is not a safe name."""
    if not is_token(token):
        raise ValueError(f"{token!r} is not a request token (letters, digits, '.', '_', '-')")
    return exchange_dir / token


def publish_request(exchange_dir: Path, token: str, request: dict, files: dict[str, bytes | Path]) -> bool:
    """Make ``<exchange_dir>/<token>/`` with the input ``files`` and the request, all at once.

    The folder is assembled under a hidden name and renamed into place, so a lab agent never
    sees half a request. Returns False, writing nothing, when the request already exists
    (publishing one token twice creates one request). ``ValueError`` for an unsafe file name.
    """
    final = request_dir(exchange_dir, token)
    for name in files:
        problem = name_problem(name)
        if problem is not None:
            raise ValueError(f"input file {name!r}: {problem}")
    if (final / REQUEST_FILE).exists():
        return False
    staging = exchange_dir / f".incoming-{token}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        for name, content in files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, target)
            else:
                target.write_bytes(content)
        write_json_atomic(staging / REQUEST_FILE, request)
        try:
            os.rename(staging, final)
        except OSError:
            if (final / REQUEST_FILE).exists():
                return False  # another publisher of the same token won the race
            raise
        return True
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def agent_identity() -> dict[str, Any]:
    """Who is claiming: host and process id, so a restarted agent can tell a dead claim."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def claim(folder: Path) -> bool:
    """Claim the request in ``folder`` for this process; False if someone already has.

    The claim file is written under a hidden temporary name and hard-linked into place:
    ``link`` fails when the claim exists, so exactly one agent ever wins, and the claim it
    leaves always holds who claimed it and when."""
    content = json.dumps({**agent_identity(), "claimed_at": utc_now().isoformat()}).encode()
    tmp = folder / f".claim-{secrets.token_hex(6)}.tmp"
    write_bytes_atomic(tmp, content)
    try:
        os.link(tmp, folder / CLAIM_FILE)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: exclusive create, then write
        return _claim_exclusive(folder / CLAIM_FILE, content)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _claim_exclusive(path: Path, content: bytes) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    return True


def read_claim(folder: Path) -> dict | None:
    """The claim on the request in ``folder`` (``host``, ``pid``, ``claimed_at``), if any."""
    value = read_json(folder / CLAIM_FILE)
    if value is None and (folder / CLAIM_FILE).exists():
        return {}
    return value if isinstance(value, dict) else None


def cancel(folder: Path, token: str | None, by: str) -> None:
    """Withdraw the request in ``folder`` (kept if already withdrawn)."""
    if not (folder / CANCEL_FILE).exists():
        write_json_atomic(folder / CANCEL_FILE, {"token": token, "cancelled_at": utc_now().isoformat(), "by": by})


def request_state(folder: Path) -> dict[str, Any]:
    """What the request in ``folder`` looks like from outside, as the HTTP API reports it.

    ``state`` is CANCELLED when withdrawn before a final answer, else ANSWERED when
    ``experiment_result.json`` exists (``result`` is its JSON value, or ``result_error`` says
    why it cannot be read), else CLAIMED when an agent took it, else PENDING. The result is passed on as the lab
    wrote it: the operator validates it. A result over the limit for answer files is not read
    and not yet an answer: the state stays CLAIMED (or PENDING), ``result_error`` says why.
    """
    state: dict[str, Any] = {"token": folder.name, "state": PENDING, "result": None, "result_error": None,
                             "claim": read_claim(folder)}
    try:
        raw = read_within_limit(folder / RESULT_FILE, ANSWER_FILE_LIMIT)
    except FileNotFoundError:
        raw = None
    except InputLimitError as exc:
        # Not an answer yet: the request waits, the lab's file is kept, and result_error says why.
        raw, state["result_error"] = None, f"{RESULT_FILE} {exc.what} (fix: {exc.fix})"
    except OSError as exc:
        state.update(state=ANSWERED, result_error=f"cannot read {RESULT_FILE}: {exc.strerror or exc}")
        return state
    if raw is not None:
        state["state"] = ANSWERED
        try:
            state["result"] = decode_json(raw)
        except ValueError as exc:
            state["result_error"] = f"{RESULT_FILE} is {exc}"
    result = state["result"]
    final = isinstance(result, dict) and result.get("status") in (COMPLETED, FAILED)
    if (folder / CANCEL_FILE).exists() and not final:
        state["state"] = CANCELLED
    elif raw is None and state["claim"] is not None:
        state["state"] = CLAIMED
    return state
