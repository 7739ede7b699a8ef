"""Times as MatterStack records them: timezone-aware UTC ``datetime`` values, stored as
ISO-8601 text. One clock and one reader for every part (the store, the tick, the wiring's
snapshot, the plugins), importing nothing but the standard library's ``datetime``, so the
cheap paths (``status``) can use it too."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the only kind of time MatterStack stores)."""
    return datetime.now(timezone.utc)


def datetime_to_text(moment: datetime) -> str:
    """ISO-8601 in UTC with offset and microseconds; a naive value is taken as UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def datetime_from_text(value: str | datetime) -> datetime:
    """A timezone-aware UTC datetime from ISO-8601 text (ours, 0.2.x's naive UTC text, or
    text ending in ``Z``); ``ValueError`` when it is not such text."""
    moment = value if isinstance(value, datetime) else _parse_datetime(value)
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _parse_datetime(text: str) -> datetime:
    # Python 3.10's fromisoformat does not read a trailing "Z".
    text = text.strip()
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
