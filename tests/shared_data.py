"""Access to ``../shared/data`` for tests that need real data; they skip with the reason elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data(name: str) -> Path:
    """Path to a ../shared/data folder, or skip the test with the reason."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"needs ../shared/data/{name} (not on this machine; it is not shipped with Tilik)")
    return path
