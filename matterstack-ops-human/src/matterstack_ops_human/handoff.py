"""What the ``human`` and ``manual_hpc`` kinds share: an attempt directory that MatterStack
writes a request into and a person answers in.

:class:`HandoffOperator` submits by writing files (the request is the submission, so it is
idempotent by construction), reconciles by looking for its own ``manifest.json``, cancels
with a ``cancelled.json`` marker, and polls each attempt through :meth:`observe` without
ever raising: a person's bad file fails that one attempt with a message, and a file over
the limit for answer files leaves it waiting, unread, with the reason (the person's answer is
kept, and read once the limit is raised).
"""

from __future__ import annotations

import abc
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from matterstack.errors import MatterStackError
from matterstack.plugins import write_atomic as write_text_atomic  # text or bytes
from matterstack.plugins import (
    AttemptContext,
    AttemptStatus,
    InputLimitError,
    Observation,
    Operator,
    datetime_from_text,
    list_outputs,
    sha256_file,
    utc_now,
)

MANIFEST_FILE = "manifest.json"
INSTRUCTIONS_FILE = "instructions.md"
INSTRUCTIONS_ENV = "INSTRUCTIONS"
CANCEL_FILE = "cancelled.json"
HIDDEN_PREFIX = "."


def parse_time(text: object) -> datetime | None:
    """An ISO-8601 time (naive read as UTC), or None if ``text`` is not one."""
    if not isinstance(text, str):
        return None
    try:
        return datetime_from_text(text)
    except ValueError:
        return None


def copy_atomic(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically."""
    write_text_atomic(target, source.read_bytes())


def write_json_atomic(path: Path, value: object) -> None:
    """Write ``value`` as indented JSON, atomically."""
    write_text_atomic(path, json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def write_json_exclusive(path: Path, value: object) -> bool:
    """Create ``path`` holding ``value`` as indented JSON, complete or not at all, unless it
    exists; False when it does (the temporary file is linked, which never replaces)."""
    temporary = path.with_name(f"{HIDDEN_PREFIX}{path.name}.{os.urandom(6).hex()}.new")
    write_json_atomic(temporary, value)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    return True


def dropped_files(folder: Path, exclude: set[str]) -> dict[str, Path]:
    """Regular files under ``folder`` by relative name, leaving out ``exclude``, hidden names
    (temporary files of atomic writes) and symlinks that point outside."""
    return {
        name: path
        for name, path in list_outputs(folder, None).items()
        if name not in exclude and not any(part.startswith(HIDDEN_PREFIX) for part in name.split("/"))
    }


def hashed(files: dict[str, Path]) -> dict[str, str]:
    """The sha256 of each file, by name."""
    return {name: sha256_file(path) for name, path in files.items()}


class HandoffOperator(Operator):
    """An operator whose attempts wait for files a person drops into the attempt directory."""

    waiting_reason = "waiting for a person"

    @abc.abstractmethod
    def observe(self, attempt: AttemptContext) -> Observation:
        """What the attempt's directory says now (called only when it is not cancelled)."""

    def poll(self, attempts: list[AttemptContext]) -> dict[str, Observation]:
        return {attempt.attempt_id: self._observe_safely(attempt) for attempt in attempts}

    def _observe_safely(self, attempt: AttemptContext) -> Observation:
        if (attempt.attempt_dir / CANCEL_FILE).exists():
            return Observation(AttemptStatus.CANCELLED, reason=f"cancelled ({CANCEL_FILE} in {attempt.relative_dir})")
        try:
            return self.observe(attempt)
        except InputLimitError as exc:
            return Observation(AttemptStatus.WAITING_EXTERNAL, external_id=attempt.external_id, reason=exc.one_line())
        except MatterStackError as exc:
            return Observation(AttemptStatus.FAILED, reason=exc.one_line())
        except OSError as exc:
            return Observation(AttemptStatus.FAILED,
                               reason=f"cannot read {attempt.relative_dir}: {exc.strerror or exc}")

    def unread(self, attempt: AttemptContext, read) -> str:
        """``""``, or what ``describe_wait`` adds when ``read(attempt)`` finds a file over its
        size limit: that it stays unread until the limit is raised."""
        try:
            read(attempt)
        except InputLimitError as exc:
            return f"; {exc.one_line()}"
        except (MatterStackError, OSError):
            pass
        return ""

    def waiting(self, attempt: AttemptContext) -> Observation:
        """The observation of an attempt that still waits."""
        return Observation(AttemptStatus.WAITING_EXTERNAL, external_id=attempt.external_id, reason=self.waiting_reason)

    def reconcile(self, attempts: list[AttemptContext]) -> dict[str, Observation | None]:
        """An attempt whose ``manifest.json`` carries its token was already written out."""
        found: dict[str, Observation | None] = {}
        for attempt in attempts:
            try:
                manifest = json.loads((attempt.attempt_dir / MANIFEST_FILE).read_text())
            except (OSError, ValueError):
                manifest = None
            ours = isinstance(manifest, dict) and manifest.get("token") == attempt.attempt_id
            found[attempt.attempt_id] = (
                Observation(AttemptStatus.WAITING_EXTERNAL, reason="request found in its attempt directory")
                if ours else None
            )
        return found

    def cancel(self, attempt: AttemptContext) -> None:
        """Leave ``cancelled.json``: the person sees the request is withdrawn, and a later poll
        reports CANCELLED even if the cancellation was never recorded."""
        attempt.attempt_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(attempt.attempt_dir / CANCEL_FILE,
                          {"cancelled_at": utc_now().isoformat(), "token": attempt.attempt_id})

    def requested_at(self, attempt: AttemptContext) -> datetime | None:
        """When the request was written: recorded at submit, else the manifest's (or, for
        MatterStack 0.2.x attempts, the instructions') modification time."""
        recorded = parse_time(attempt.operator_data.get("requested_at"))
        if recorded is not None:
            return recorded
        for name in (MANIFEST_FILE, INSTRUCTIONS_FILE):
            try:
                return datetime.fromtimestamp((attempt.attempt_dir / name).stat().st_mtime, timezone.utc)
            except OSError:
                continue
        return None
