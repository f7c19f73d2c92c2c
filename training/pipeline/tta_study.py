"""Does test-time augmentation help a pack? Measured on its *validation* images only.

``python -m training.pipeline.tta_study RUN_DIR PACK_DIR [--out study.json]`` runs the exported
pack's ONNX file (no views in it) on the validation images of the run's split and on their
flipped views (the app's decoding and preprocessing), averages the logits over each candidate set
of views (what ``decision.tta`` bakes into the graph: exactly the mean of the views' logits) and
reports ROC-AUC, balanced accuracy, macro-F1 and top-k per candidate, with the onnxruntime time per
view. The choice is made on these numbers; the test side is never read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

CANDIDATES = {"none": (), "hflip": ("hflip",), "hflip+vflip+rot180": ("hflip", "vflip", "rot180")}


def _flip(x: np.ndarray, view: str | None) -> np.ndarray:
    if view is None:
        return x
    return {"hflip": x[:, :, ::-1], "vflip": x[:, ::-1], "rot180": x[:, ::-1, ::-1]}[view]


def study(run_dir: Path, pack_dir: Path, log=print) -> dict:
    import onnxruntime as ort

    from inference.manifest import load_manifest
    from training.pipeline.evaluate import classification_metrics
    from training.pipeline.export import _softmax, preprocess_items
    from training.pipeline.splits import read_split

    manifest = load_manifest(pack_dir / "manifest.json")
    names = list(manifest.class_names)
    val = read_split(run_dir / "split.csv")["val"]
    y = np.array([names.index(s.label) for s in val], int)
    session = ort.InferenceSession(str(pack_dir / manifest.model.file), providers=["CPUExecutionProvider"])
    logits: dict[str | None, np.ndarray] = {}
    seconds: dict[str, float] = {}
    for view in (None, "hflip", "vflip", "rot180"):
        chunks = []
        t0 = time.perf_counter()
        for i in range(0, len(val), 64):
            x = _flip(preprocess_items([s.path for s in val[i:i + 64]], manifest.input), view)
            chunks.append(session.run(["logits"], {"input": np.ascontiguousarray(x)})[0])
        logits[view] = np.concatenate(chunks)
        seconds[view or "photo"] = time.perf_counter() - t0
    alarming = [names.index(a) for a in (manifest.decision.alarming or ())]
    out = {"n": len(val), "classes": names, "candidates": {}, "seconds_per_view": seconds}
    for name, views in CANDIDATES.items():
        mean = np.mean([logits[None]] + [logits[v] for v in views], axis=0)
        probs = _softmax(mean)
        m = classification_metrics(y, probs.argmax(1), probs, names)
        row = {"views": 1 + len(views), "roc_auc": m.get("roc_auc"), "balanced_accuracy": m["balanced_accuracy"],
               "macro_f1": m["macro"]["f1"], "accuracy": m["accuracy"], "top_k": m.get("top_k")}
        if alarming and len(names) > 2:
            from sklearn.metrics import roc_auc_score

            row["alarm_roc_auc"] = float(roc_auc_score(np.isin(y, alarming), probs[:, alarming].sum(1)))
        out["candidates"][name] = row
        log(f"{name:20s} views {row['views']}: ROC-AUC {row['roc_auc']:.4f}, balanced {row['balanced_accuracy']:.4f}, "
            f"macro-F1 {row['macro_f1']:.4f}" + (f", alarm AUC {row['alarm_roc_auc']:.4f}" if "alarm_roc_auc" in row else ""))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.pipeline.tta_study", description=__doc__)
    p.add_argument("run_dir", type=Path)
    p.add_argument("pack_dir", type=Path)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    result = study(a.run_dir, a.pack_dir)
    if a.out:
        a.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
