"""Value helpers shared by the log's record modules: stored time text, canonical JSON text,
cleaning of user-typed fields, and the app version written into each row."""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import date, datetime, time as dtime, timedelta, timezone
from functools import lru_cache
from typing import Any

from inference.log.models import ValidationError

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def now() -> tuple[str, int]:
    """The time now as stored: UTC text and the local offset in minutes."""
    current = datetime.now(timezone.utc)
    offset = current.astimezone().utcoffset() or timedelta(0)
    return current.strftime(TIME_FORMAT), int(offset.total_seconds() // 60)


def parse_time(text: str) -> datetime:
    # fromisoformat is C code, ~20x faster than strptime: it matters when paging 100k rows.
    return datetime.fromisoformat(text[:-1] if text.endswith("Z") else text).replace(tzinfo=timezone.utc)


def time_bound(value: datetime | date | str | None) -> str | None:
    """A query bound as stored text. Naive datetimes and plain dates are local time."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"'{value}' is not a date or time (use e.g. 2025-03-01 or 2025-03-01T14:30).") from None
    if not isinstance(value, datetime):
        value = datetime.combine(value, dtime())
    if value.tzinfo is None:
        value = value.astimezone()  # interpret as local time
    return value.astimezone(timezone.utc).strftime(TIME_FORMAT)


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def bool_or_none(value: bool | None) -> int | None:
    return None if value is None else int(bool(value))


@lru_cache(maxsize=1)
def app_version() -> str:
    try:
        from importlib.metadata import version

        return f"tilik {version('tilik')}"
    except Exception:  # noqa: BLE001 - running from a source tree that was never installed
        return "tilik (unknown version)"


def dicts(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    """A cursor's rows as column → value dicts."""
    names = [d[0] for d in cur.description]
    return [dict(zip(names, values)) for values in cur.fetchall()]
