"""User settings, persisted with QSettings (INI format, organisation/application "Tilik").

Where the file lives:

- an explicit ``path`` (tests pass one under ``tmp_path``);
- else ``TILIK_SETTINGS`` (a file path);
- else ``<TILIK_DATA_DIR>/settings.ini`` when ``TILIK_DATA_DIR`` is set (tests and portable installs);
- else Qt's per-user location for organisation "Tilik", application "Tilik".

So a test run never reads or writes the real user's settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "Tilik"
APPLICATION = "Tilik"

MODES = ("seal", "signature", "skin", "general")
PROVIDERS = ("auto", "cpu", "cuda", "directml", "coreml")
STORAGE_POLICIES = ("log", "thumbnail", "full")
COLORMAPS = ("turbo", "jet", "gray")
MAX_THREADS = 64  # the dialog's limit on model threads


class Settings:
    """Typed access to the app's settings; every getter has a safe default."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        if path is None and os.environ.get("TILIK_SETTINGS"):
            path = os.environ["TILIK_SETTINGS"]
        if path is None and os.environ.get("TILIK_DATA_DIR"):
            path = Path(os.environ["TILIK_DATA_DIR"]) / "settings.ini"
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.q = QSettings(str(path), QSettings.Format.IniFormat)
        else:
            self.q = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)

    @property
    def file_name(self) -> str:
        return self.q.fileName()

    # -- generic --------------------------------------------------------------------------------
    def value(self, key: str, default: Any = None) -> Any:
        v = self.q.value(key, default)
        return default if v is None else v

    def set_value(self, key: str, value: Any) -> None:
        self.q.setValue(key, value)

    def _str(self, key: str, default: str = "") -> str:
        v = self.q.value(key, default)
        return default if v is None else str(v)

    def _choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        v = self._str(key, default)
        return v if v in choices else default

    def sync(self) -> None:
        self.q.sync()

    # -- who and where --------------------------------------------------------------------------
    @property
    def operator(self) -> str:
        return self._str("inspection/operator")

    @operator.setter
    def operator(self, value: str) -> None:
        self.q.setValue("inspection/operator", value.strip())

    @property
    def station(self) -> str:
        return self._str("inspection/station")

    @station.setter
    def station(self, value: str) -> None:
        self.q.setValue("inspection/station", value.strip())

    @property
    def central_url(self) -> str:
        """The central server (postgresql://USER@HOST/DB, no password), "" for none; see
        :meth:`central_url_in_force`."""
        return self._str("central/url")

    @central_url.setter
    def central_url(self, value: str) -> None:
        self.q.setValue("central/url", value.strip())

    def central_url_in_force(self) -> str:
        """This setting, else ``TILIK_CENTRAL_URL``, else "" (no central server: offline only)."""
        return self.central_url or os.environ.get("TILIK_CENTRAL_URL", "").strip()

    @property
    def language(self) -> str:
        return self._choice("ui/language", ("en", "id"), "en")

    @language.setter
    def language(self, value: str) -> None:
        self.q.setValue("ui/language", value)

    @property
    def storage_policy(self) -> str:
        """"log" (default: the log's own per-mode policy; skin photos as thumbnails), "thumbnail"
        (small copies only) or "full" (keep the inspected file itself)."""
        return self._choice("log/storage_policy", STORAGE_POLICIES, "log")

    @storage_policy.setter
    def storage_policy(self, value: str) -> None:
        self.q.setValue("log/storage_policy", value)

    def keep_full_image(self) -> bool | None:
        """What to pass to ``InspectionLog.record_result(keep_full_image=...)``."""
        return {"log": None, "thumbnail": False, "full": True}[self.storage_policy]

    @property
    def allow_self_review(self) -> bool:
        """A supervisor's setting: may the operator who made an inspection also review it? Off by
        default (four eyes); when on, each such review says so in the log (its note)."""
        return str(self.q.value("review/allow_self_review", "false")).lower() in ("1", "true", "yes")

    @allow_self_review.setter
    def allow_self_review(self, value: bool) -> None:
        self.q.setValue("review/allow_self_review", "true" if value else "false")

    @property
    def provider(self) -> str:
        return self._choice("inference/provider", PROVIDERS, "auto")

    @provider.setter
    def provider(self, value: str) -> None:
        self.q.setValue("inference/provider", value)

    @property
    def threads(self) -> int:
        """onnxruntime intra-op threads per model; 0 = automatic (TILIK_THREADS, else onnxruntime's choice)."""
        try:
            return max(0, min(MAX_THREADS, int(self.q.value("inference/threads", 0))))
        except (TypeError, ValueError):
            return 0

    @threads.setter
    def threads(self, value: int) -> None:
        self.q.setValue("inference/threads", max(0, min(MAX_THREADS, int(value))))

    def provider_argument(self) -> str | None:
        """What to pass to ``Inspector(provider=...)``: None for auto (TILIK_PROVIDER still applies)."""
        return None if self.provider == "auto" else self.provider

    @property
    def packs_dir(self) -> str:
        """User packs folder; empty means the default (TILIK_PACKS_DIR or <user data>/packs)."""
        return self._str("paths/packs_dir")

    @packs_dir.setter
    def packs_dir(self, value: str) -> None:
        self.q.setValue("paths/packs_dir", value.strip())

    @property
    def db_path(self) -> str:
        """Inspection log file; empty means the default (TILIK_DB or <user data>/inspections.sqlite3)."""
        return self._str("paths/db_path")

    @db_path.setter
    def db_path(self, value: str) -> None:
        self.q.setValue("paths/db_path", value.strip())

    def default_pack(self, mode: str) -> str:
        return self._str(f"packs/default_{mode}")

    def set_default_pack(self, mode: str, pack_id: str) -> None:
        self.q.setValue(f"packs/default_{mode}", pack_id)

    @property
    def last_mode(self) -> str:
        return self._choice("ui/last_mode", MODES, "")

    @last_mode.setter
    def last_mode(self, value: str) -> None:
        self.q.setValue("ui/last_mode", value)

    # -- heatmap display ------------------------------------------------------------------------
    @property
    def colormap(self) -> str:
        return self._choice("heatmap/colormap", COLORMAPS, "turbo")

    @colormap.setter
    def colormap(self, value: str) -> None:
        self.q.setValue("heatmap/colormap", value)

    @property
    def opacity(self) -> int:
        try:
            return max(0, min(100, int(self.q.value("heatmap/opacity", 55))))
        except (TypeError, ValueError):
            return 55

    @opacity.setter
    def opacity(self, value: int) -> None:
        self.q.setValue("heatmap/opacity", int(value))

    @property
    def last_dir(self) -> str:
        return self._str("ui/last_dir")

    @last_dir.setter
    def last_dir(self, value: str) -> None:
        self.q.setValue("ui/last_dir", value)

    def geometry(self) -> QByteArray | None:
        v = self.q.value("ui/geometry")
        return v if isinstance(v, QByteArray) else None

    def set_geometry(self, value: QByteArray) -> None:
        self.q.setValue("ui/geometry", value)
