"""Helpers shared by the inspection-log tests (imported by conftest and by the tests)."""

from __future__ import annotations

import hashlib
import io
import sqlite3
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from inference.results import ClassScore, InspectionResult, Timings

HERE = Path(__file__).resolve().parent
WRITER = HERE / "log_writer.py"


def png_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def noisy(seed: int, size: tuple[int, int] = (24, 32)) -> np.ndarray:
    """A distinct RGB image per seed (so every inspection stores its own file). Blocks of 4×4
    pixels, so it has the structure of a picture: pixel noise would be refused as "not a photo"."""
    h, w = (size[0] + 3) // 4, (size[1] + 3) // 4
    small = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return np.ascontiguousarray(small.repeat(4, axis=0).repeat(4, axis=1)[:size[0], :size[1]])


def synthetic_result(i: int, label: str = "red", *, classes: tuple[str, ...] = ("red", "green", "blue"),
                     needs_review: bool = False) -> InspectionResult:
    """A well-formed result without running a model: for building big logs quickly."""
    p = 0.9 if not needs_review else 0.5
    rest = (1 - p) / (len(classes) - 1)
    probs = {c: (p if c == label else rest) for c in classes}
    return InspectionResult(
        source=f"bulk/{i}.png", label=label, display_label=label.capitalize(), verdict=label.capitalize(),
        confidence=p, probabilities=probs, top_k=(ClassScore(label, label.capitalize(), p),), alarming=label == "red",
        needs_review=needs_review, review_reasons=("uncertain",) if needs_review else (), out_of_domain=False,
        ood_score=None, heatmap=None, embedding=None, pack_id="colour", pack_version="1.0.0",
        pack_sha256="0" * 64, provider="CPU", image_sha256=hashlib.sha256(str(i).encode()).hexdigest(),
        image_size=(32, 24), image_notes=(), timings=Timings(1.0, 1.0, 1.0, 3.0))



def raw(path: Path) -> sqlite3.Connection:
    """A plain connection, as someone tampering with the file would use (no triggers help them)."""
    conn = sqlite3.connect(path, isolation_level=None)
    return conn


def writer_command(db: Path, count: int, tag: str, go_file: Path | None = None, group: int = 0) -> list[str]:
    return [sys.executable, str(WRITER), str(db), str(count), tag, *([str(go_file)] if go_file else []),
            *(["--group", str(group)] if group else [])]


def bulk_fill(db: Path, n: int) -> None:
    """Fill a fresh log with ``n`` plausible inspections in one SQL statement (seconds, not
    minutes), for paging tests. The rows have placeholder hashes: the chain is NOT valid over
    them; the head is moved past them (and signed with this station's key) so rows recorded
    afterwards chain on normally."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        # A throwaway test file: skip the WAL double write and the fsyncs while filling it.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")
        conn.execute("BEGIN IMMEDIATE")
        # Building the indexes once after the insert is several times faster than updating them row by row.
        indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                               "tbl_name = 'inspections' AND sql IS NOT NULL").fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.execute("""
        INSERT INTO inspections (id, seq, hash, time_utc, utc_offset_min, operator, station, mode, app_version,
            source, pack_id, pack_version, pack_sha256, provider, image_sha256, image_notes, image_kind, label,
            display_label, verdict, alarming, confidence, probabilities, needs_review, review_reasons,
            out_of_domain, timings, seal_number, container_number, container_check, container_check_confirmed,
            customer_id)
        WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
        SELECT i, i, printf('%064x', i),
               strftime('%Y-%m-%dT%H:%M:%S', '2025-01-01', printf('+%d seconds', i * 60)) || '.000000Z', 60,
               'op' || (i % 5), 'bench', CASE i % 4 WHEN 0 THEN 'seal' WHEN 1 THEN 'general'
                                                    WHEN 2 THEN 'signature' ELSE 'skin' END,
               'tilik bench', 'bulk/' || i || '.png', 'colour', '1.0.0', printf('%064d', 0), 'CPU',
               printf('%064x', i), '[]', 'none', CASE i % 3 WHEN 0 THEN 'red' WHEN 1 THEN 'green' ELSE 'blue' END,
               'x', 'x', 0, 0.9, '{"blue":0.05,"green":0.05,"red":0.9}', i % 7 = 0, '[]', 0, '{}',
               CASE WHEN i % 4 = 0 THEN 'S' || i END, CASE WHEN i % 4 = 0 THEN 'CSQU3054383' END,
               CASE WHEN i % 4 = 0 THEN 'valid' END, CASE WHEN i % 4 = 0 THEN 0 END,
               CASE WHEN i % 4 = 2 THEN 'ACC-' || (i % 100) END
        FROM k""", (n,))
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("UPDATE chain_head SET seq = ?, hash = printf('%064x', ?)", (n, n))
        # Sign the moved head as Tilik would (this station's key), so later writes accept it.
        from inference.log.store.db import station_signer

        station_signer().sign(conn, n, f"{n:064x}", "2025-01-01T00:00:00.000000Z")
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
