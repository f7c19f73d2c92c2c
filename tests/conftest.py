"""Shared fixtures: tiny real packs in temporary folders, isolated user data, offscreen Qt."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Module-scoped fixtures run outside the per-test folders below: keep the station signing key
# they create (at a log's first write) out of the real user data folder too.
if "TILIK_KEY_DIR" not in os.environ:
    os.environ["TILIK_KEY_DIR"] = tempfile.mkdtemp(prefix="tilik-test-station-")
    atexit.register(shutil.rmtree, os.environ["TILIK_KEY_DIR"], True)
sys.path.insert(0, str(Path(__file__).parent))

from tiny_models import build_colour_model, write_pack  # noqa: E402
from pg_cluster import central_db, pg_server  # noqa: E402,F401 - a real PostgreSQL server, when one can start

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Keep every test away from the real user data folder and log."""
    home = tmp_path_factory.mktemp("tilik-user")
    monkeypatch.setenv("TILIK_DATA_DIR", str(home))
    monkeypatch.setenv("TILIK_PACKS_DIR", str(home / "packs"))
    monkeypatch.setenv("TILIK_DB", str(home / "inspections.sqlite3"))
    monkeypatch.setenv("TILIK_KEY_DIR", str(home / "station"))
    monkeypatch.delenv("TILIK_PROVIDER", raising=False)
    yield


@pytest.fixture
def packs_dir(tmp_path, monkeypatch) -> Path:
    """A bundled-packs folder holding one usable colour pack ("colour"); set as the bundled dir."""
    folder = tmp_path / "models"
    write_pack(folder / "colour", build_colour_model())
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(folder))
    return folder
