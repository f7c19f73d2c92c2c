"""Setting changes: chained ``settings_log`` rows, so an auditor sees who changed what, and when.
The setting in force is the newest change of its key, else Tilik's default."""

from __future__ import annotations

import json
from typing import Any

from inference.log.models import MODES, ValidationError
from inference.log.store.db import LogDatabase
from inference.log.store.values import dumps, now, parse_time

MISSING = object()

DEFAULT_SETTINGS: dict[str, Any] = {
    # Skin photos are health data: by default only a 256-px thumbnail is kept (enough for a
    # reviewer to see what was inspected, too small to be a clinical photograph) and the source
    # path (which often holds a patient's name) is not stored. The input's SHA-256 is always kept,
    # so the verdict stays tied to the exact image the clinic holds in its own records.
    "thumbnails_only_modes": ["skin"],
    "omit_source_modes": ["skin"],
    "thumbnail_px": 256,
    "store_heatmaps": True,
    "heatmap_max_px": 1024,
}


def _check_modes(value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)) or any(v not in MODES for v in value):
        raise ValidationError(f"Expected a list of modes drawn from {', '.join(MODES)}; got {value!r}.")
    return sorted(set(value))


def _check_px(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 32 <= value <= 4096:
        raise ValidationError(f"Expected a size in pixels between 32 and 4096; got {value!r}.")
    return value


def _check_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"Expected true or false; got {value!r}.")
    return value


SETTING_CHECKS = {
    "thumbnails_only_modes": _check_modes,
    "omit_source_modes": _check_modes,
    "thumbnail_px": _check_px,
    "heatmap_max_px": _check_px,
    "store_heatmaps": _check_bool,
}


class SettingsLog:
    """Reads and appends setting changes."""

    def __init__(self, db: LogDatabase) -> None:
        self.db = db

    def get(self, key: str, default: Any = MISSING) -> Any:
        """The current value of a setting: the newest change, else ``default``, else Tilik's
        default (:data:`DEFAULT_SETTINGS`), else None."""
        with self.db.read("reading a setting") as conn:
            row = conn.execute("SELECT value FROM settings_log WHERE key = ? ORDER BY id DESC LIMIT 1",
                               (key,)).fetchone()
        if row is not None:
            return json.loads(row[0])
        if default is not MISSING:
            return default
        value = DEFAULT_SETTINGS.get(key)
        return list(value) if isinstance(value, list) else value

    def all(self) -> dict[str, Any]:
        """Every setting in force (Tilik's defaults overlaid with the changes made)."""
        out = {k: (list(v) if isinstance(v, list) else v) for k, v in DEFAULT_SETTINGS.items()}
        with self.db.read("reading settings") as conn:
            for key, value in conn.execute(
                    "SELECT key, value FROM settings_log WHERE id IN (SELECT max(id) FROM settings_log GROUP BY key)"):
                out[key] = json.loads(value)
        return out

    def set(self, key: str, value: Any, *, by: str = "") -> None:
        """Change a setting (a new chained row); known keys are checked, an unchanged value adds
        no row."""
        if not isinstance(key, str) or not key.strip():
            raise ValidationError("A setting needs a name.")
        check = SETTING_CHECKS.get(key)
        if check is not None:
            value = check(value)
        try:
            text = dumps(value)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"Setting '{key}' must be plain data (text, numbers, lists): {exc}") from exc
        if dumps(self.get(key)) == text:
            return  # unchanged: no row, so the history shows real changes only
        t, off = now()
        with self.db.write(f"the setting '{key}'") as conn:
            self.db.append(conn, "settings_log", {"time_utc": t, "utc_offset_min": off, "key": key,
                                                  "value": text, "changed_by": (by or "").strip()})

    def history(self, key: str) -> list[dict[str, Any]]:
        """Every change of one setting, oldest first: time, value, changed_by."""
        with self.db.read("reading settings") as conn:
            rows = conn.execute("SELECT time_utc, utc_offset_min, value, changed_by FROM settings_log "
                                "WHERE key = ? ORDER BY id", (key,)).fetchall()
        return [{"time_utc": parse_time(r[0]), "utc_offset_min": r[1], "value": json.loads(r[2]),
                 "changed_by": r[3]} for r in rows]
