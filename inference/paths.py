"""Where things live: bundled packs and resources (source tree or PyInstaller bundle) and user data.

Paths resolve the same way frozen or not: in a PyInstaller bundle ``sys._MEIPASS`` is the root that
holds ``models/`` and ``resources/``; from source it is the repository root.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "Tilik"


def app_root() -> Path:
    """Folder holding the bundled ``models/`` and ``resources/``."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parent.parent


def bundled_models_dir() -> Path:
    """The packs that ship with the app (overridable by ``TILIK_BUNDLED_PACKS_DIR`` for tests)."""
    override = os.environ.get("TILIK_BUNDLED_PACKS_DIR")
    return Path(override) if override else app_root() / "models"


def resources_dir() -> Path:
    return app_root() / "resources"


def samples_dir() -> Path:
    return resources_dir() / "samples"


def user_data_dir() -> Path:
    """Per-user data folder (``TILIK_DATA_DIR`` overrides): the log, user packs, settings."""
    override = os.environ.get("TILIK_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_packs_dir() -> Path:
    """Packs a user installed or retrained (``TILIK_PACKS_DIR`` overrides)."""
    override = os.environ.get("TILIK_PACKS_DIR")
    return Path(override) if override else user_data_dir() / "packs"


def default_db_path() -> Path:
    """The inspection log (``TILIK_DB`` overrides)."""
    override = os.environ.get("TILIK_DB")
    return Path(override) if override else user_data_dir() / "inspections.sqlite3"
