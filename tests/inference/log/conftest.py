"""Fixtures for the inspection-log tests: a real log file, the tiny colour pack, and results."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from inference.log import InspectionLog  # noqa: E402
from log_helpers import noisy, png_bytes  # noqa: E402


@pytest.fixture
def inspector(packs_dir):
    from inference.inspector import Inspector

    return Inspector.for_pack("colour")


@pytest.fixture
def log_path(tmp_path) -> Path:
    return tmp_path / "log" / "inspections.sqlite3"


@pytest.fixture
def log(log_path):
    with InspectionLog.open(log_path) as opened:
        yield opened


@pytest.fixture
def inspect(inspector, log):
    """inspect(seed, **record_kwargs) → record of a real classification of a distinct image."""
    def _inspect(seed: int, colour: str | None = None, **kwargs):
        rgb = noisy(seed)
        if colour is not None:
            rgb[:, :, {"red": 0, "green": 1, "blue": 2}[colour]] = 255
        data = png_bytes(rgb)
        result = inspector.classify(data, name=f"img{seed}.png")
        kwargs.setdefault("image", data)
        return log.record_result(result, **kwargs)
    return _inspect
