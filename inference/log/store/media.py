"""Finding the files the log keeps (images, thumbnails, heatmaps) from their rows; the files
themselves are written by :mod:`inference.log.media`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inference.log.media import MediaStore, decode_heatmap
from inference.log.models import InspectionRecord, SignatureReference
from inference.log.store.db import LogDatabase


class MediaRecords:
    """Paths and decoded arrays of the files named by inspections and references."""

    def __init__(self, db: LogDatabase, media: MediaStore) -> None:
        self.db = db
        self.media = media

    def image_path(self, sha256: str) -> Path | None:
        """The stored image for an input SHA-256 (or a stored file's own SHA-256), preferring the
        original over a thumbnail; None when no image of it is kept."""
        with self.db.read("finding an image") as conn:
            rows = conn.execute(
                "SELECT image_file FROM inspections WHERE image_sha256 = ? AND image_file IS NOT NULL "
                "ORDER BY image_kind = 'original' DESC, id DESC LIMIT 1", (sha256,)).fetchall()
            if not rows:
                rows = conn.execute("SELECT image_file FROM inspections WHERE image_file_sha256 = ? LIMIT 1",
                                    (sha256,)).fetchall()
            if not rows and self.db.version >= 2:
                rows = conn.execute("SELECT image_file FROM signature_references WHERE image_sha256 = ? "
                                    "OR image_file_sha256 = ? LIMIT 1", (sha256, sha256)).fetchall()
        return self.media.path(rows[0][0]) if rows else None

    def stored_image_path(self, record: InspectionRecord | SignatureReference) -> Path | None:
        """The image kept for this record (original or thumbnail), or None."""
        return self.media.path(record.image_file)

    def heatmap_path(self, record: InspectionRecord) -> Path | None:
        """The heatmap kept for this record (8-bit grayscale PNG), or None."""
        return self.media.path(record.heatmap_file)

    def heatmap_array(self, record: InspectionRecord) -> np.ndarray | None:
        """The record's heatmap as float32 in [0, 1], or None."""
        path = self.heatmap_path(record)
        return decode_heatmap(path.read_bytes()) if path is not None else None

    def image_array(self, record: InspectionRecord | SignatureReference) -> np.ndarray | None:
        """The record's stored image decoded to RGB uint8, or None."""
        from inference.imageio import load_image

        path = self.stored_image_path(record)
        return load_image(path.read_bytes(), name=str(path)).rgb if path is not None else None
