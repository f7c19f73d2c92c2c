"""Small helpers the guard commands share (``guard`` and ``guard-recalibrate``): the repository root,
progress lines, subsampling, writing a validated manifest and an app :class:`Inspector` on a pack."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]

def _log(msg: str) -> None:
    print(msg, flush=True)

def _subsample(items: list, labels: np.ndarray | None, k: int, rng) -> tuple[list, np.ndarray | None]:
    if len(items) <= k:
        return items, labels
    idx = np.sort(rng.choice(len(items), k, replace=False))
    return [items[i] for i in idx], (labels[idx] if labels is not None else None)

def write_manifest(pack_dir: Path, data: dict) -> None:
    from inference.manifest import validate_manifest

    validate_manifest(data)
    tmp = pack_dir / "manifest.json.tmp"
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(pack_dir / "manifest.json")

def _inspector(pack_dir: Path, use_guard: bool):
    from inference.inspector import Inspector, clear_session_cache
    from inference.registry import check_pack

    clear_session_cache()
    return Inspector(check_pack(pack_dir), None, use_guard=use_guard)
