"""Languages: English (the source language) and Bahasa Indonesia, through Qt's translation system.

``resources/i18n/tilik_id.ts`` is the source of the Indonesian translation; ``tilik_id.qm`` is its
compiled form (committed, rebuilt by ``make translations``). When the ``.qm`` is missing or older
than the ``.ts``, it is compiled on first use with ``pyside6-lrelease`` into a cache folder.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

from inference import paths

log = logging.getLogger(__name__)

LANGUAGES = {"en": "English", "id": "Bahasa Indonesia"}


def i18n_dir() -> Path:
    return paths.resources_dir() / "i18n"


def _lrelease() -> str | None:
    exe_dir = Path(sys.executable).parent
    for name in ("pyside6-lrelease", "pyside6-lrelease.exe", "lrelease"):
        candidate = exe_dir / name
        if candidate.is_file():
            return str(candidate)
        found = shutil.which(name)
        if found:
            return found
    return None


def compile_ts(ts: Path, qm: Path) -> bool:
    """Compile ``ts`` into ``qm`` with pyside6-lrelease; False when it is not available or fails."""
    exe = _lrelease()
    if exe is None:
        return False
    qm.parent.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run([exe, "-silent", str(ts), "-qm", str(qm)], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("pyside6-lrelease failed: %s", exc)
        return False
    if proc.returncode != 0 or not qm.is_file():
        log.warning("pyside6-lrelease failed: %s", proc.stderr.strip())
        return False
    return True


def qm_file(language: str) -> Path | None:
    """The compiled translation for ``language`` (building it on demand), or None."""
    if language == "en":
        return None
    ts = i18n_dir() / f"tilik_{language}.ts"
    qm = i18n_dir() / f"tilik_{language}.qm"
    if qm.is_file() and (not ts.is_file() or qm.stat().st_mtime >= ts.stat().st_mtime - 1):
        return qm
    if not ts.is_file():
        return qm if qm.is_file() else None
    cached = paths.user_data_dir() / "cache" / "i18n" / f"tilik_{language}.qm"
    if cached.is_file() and cached.stat().st_mtime >= ts.stat().st_mtime:
        return cached
    if compile_ts(ts, cached):
        return cached
    return qm if qm.is_file() else None


class LanguageManager:
    """Installs one app translator at a time; installing sends LanguageChange to every widget."""

    def __init__(self) -> None:
        self._translator: QTranslator | None = None
        self.language = "en"

    def install(self, language: str) -> bool:
        """Switch the application's language; returns False when it could not be loaded."""
        app = QCoreApplication.instance()
        if language not in LANGUAGES:
            language = "en"
        new: QTranslator | None = None
        if language != "en":
            qm = qm_file(language)
            new = QTranslator()
            if qm is None or not new.load(str(qm)):
                log.warning("No translation for %s", language)
                return False
        if self._translator is not None and app is not None:
            app.removeTranslator(self._translator)
        self._translator = new
        if new is not None and app is not None:
            app.installTranslator(new)
        self.language = language
        QLocale.setDefault(QLocale(QLocale.Language.Indonesian if language == "id" else QLocale.Language.English))
        return True


_MANAGER: LanguageManager | None = None


def manager() -> LanguageManager:
    global _MANAGER
    if _MANAGER is None:
        _MANAGER = LanguageManager()
    return _MANAGER
