"""Both signature corpora (CEDAR and BHSig260-Bengali) as one list of items, normalised the same way.

Writer ids are made unique across corpora: CEDAR writer ``w`` stays ``w``, Bengali writer ``w``
becomes ``BENGALI_OFFSET + w``. Every image — a greyscale CEDAR scan or a 1-bit Bengali PNG — goes
through the app's own :func:`inference.signature.preprocess.normalize` with one set of options
(Otsu binarisation, crop to the ink, aspect-preserving resize onto one canvas), so what the network
sees is binary ink on white whatever the corpus or the scan session. The canvases are cached once
(``.npz`` keyed by the options and the file list).

The split used by signature-verify 3 (docs/training.md, "Signatures"): development writers CEDAR
1–35 and Bengali 1–70 (every choice is made by writer-grouped cross-validation over them), test
writers CEDAR 36–45 and Bengali 71–80, scored once at the end.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Sequence

import numpy as np

from inference.signature.preprocess import PreprocessOptions, normalize

BENGALI_OFFSET = 1000
CORPORA = ("cedar", "bengali")
DEV = {"cedar": range(1, 36), "bengali": range(1, 71)}
TEST = {"cedar": range(36, 46), "bengali": range(71, 81)}
CACHE_VERSION = 1


@dataclass(frozen=True)
class SigItem:
    """One signature image of either corpus; ``writer`` is unique across corpora."""

    index: int
    path: Path
    corpus: str
    writer: int
    sample: int
    genuine: bool


def corpus_of_writer(writer: int) -> str:
    return "bengali" if writer > BENGALI_OFFSET else "cedar"


def writer_ids(corpus: str, writers) -> list[int]:
    off = BENGALI_OFFSET if corpus == "bengali" else 0
    return [off + int(w) for w in writers]


def dev_writers() -> list[int]:
    return writer_ids("cedar", DEV["cedar"]) + writer_ids("bengali", DEV["bengali"])


def test_writers() -> list[int]:
    return writer_ids("cedar", TEST["cedar"]) + writer_ids("bengali", TEST["bengali"])


def _read_manifest(root: Path, corpus: str) -> list[tuple]:
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest} not found: is the {corpus} folder at {root}?")
    rows = []
    with open(manifest, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["label"] not in ("genuine", "forged"):
                raise ValueError(f"unknown label {r['label']!r} in {manifest}")
            rel = r.get("path") or r["file"]
            off = BENGALI_OFFSET if corpus == "bengali" else 0
            rows.append((corpus, off + int(r["writer"]), r["label"] != "genuine", int(r["sample"]), root / rel))
    return rows


def load_corpora(cedar_root: str | Path | None, bengali_root: str | Path | None) -> list[SigItem]:
    """Items of the corpora whose folders are given, sorted by (corpus, writer, label, sample)."""
    rows = []
    if cedar_root is not None:
        rows += _read_manifest(Path(cedar_root), "cedar")
    if bengali_root is not None:
        rows += _read_manifest(Path(bengali_root), "bengali")
    rows.sort(key=lambda r: (CORPORA.index(r[0]), r[1], r[2], r[3]))
    return [SigItem(i, p, c, w, s, not forged) for i, (c, w, forged, s, p) in enumerate(rows)]


@dataclass(eq=False)
class Canvases:
    """Normalised canvases of a list of items (same order), plus what a size-only baseline needs."""

    opts: PreprocessOptions
    canvas: np.ndarray       # (N, H, W) uint8, ink dark on white
    mask: np.ndarray         # (N, H, W) bool, the ink
    raw_size: np.ndarray     # (N, 2) width, height of the source image
    bbox: np.ndarray         # (N, 4) x, y, w, h of the ink in the source image
    border_grey: np.ndarray  # (N,) median grey of the source image's outer 5% border (the paper)
    key: str


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _one(args) -> tuple:
    from inference.imageio import load_image
    from inference.signature.preprocess import to_gray

    path, opts = args
    img = load_image(Path(path))
    sig = normalize(img.rgb, PreprocessOptions(**opts))
    g = to_gray(img.rgb)
    h, w = g.shape
    b = max(2, int(0.05 * min(h, w)))
    border = np.concatenate([g[:b].ravel(), g[-b:].ravel(), g[:, :b].ravel(), g[:, -b:].ravel()])
    return sig.canvas, sig.mask, (img.width, img.height), sig.bbox, float(np.median(border))


def normalize_all(items: Sequence[SigItem], opts: PreprocessOptions, cache_dir: Path, *, workers: int = 2,
                  log=print) -> Canvases:
    """Normalise every item with ``opts`` (the app's code); cached under ``cache_dir``."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = _key(CACHE_VERSION, opts.as_dict(), [str(it.path) for it in items])
    path = cache_dir / f"canvases-{key}.npz"
    if path.is_file():
        with np.load(path) as d:
            return Canvases(opts, d["canvas"], d["mask"], d["raw_size"], d["bbox"], d["border_grey"], key)
    t0 = time.perf_counter()
    jobs = [(str(it.path), opts.as_dict()) for it in items]
    if workers > 1 and len(jobs) > 16 and "tensorflow" not in sys.modules:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
            rows = list(pool.map(_one, jobs, chunksize=16))
    else:
        rows = [_one(j) for j in jobs]
    out = Canvases(opts, np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows]),
                   np.array([r[2] for r in rows]), np.array([r[3] for r in rows]),
                   np.array([r[4] for r in rows]), key)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, canvas=out.canvas, mask=out.mask, raw_size=out.raw_size, bbox=out.bbox,
                        border_grey=out.border_grey)
    tmp.replace(path)
    log(f"normalised {len(items)} images in {time.perf_counter() - t0:.0f} s")
    return out


__all__ = ["BENGALI_OFFSET", "Canvases", "SigItem", "corpus_of_writer", "dev_writers", "load_corpora",
           "normalize_all", "test_writers", "writer_ids"]
