"""Durable renames and creations: fsync a folder so the new name itself survives a power cut."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """fsync ``folder`` (POSIX); silently nothing where folders cannot be opened (Windows does not need it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
