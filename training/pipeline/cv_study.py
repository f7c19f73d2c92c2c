"""Lesion-grouped cross-validation of head choices on a run's pooled embeddings (train + validation
only; the test side is never read).

``python -m training.pipeline.cv_study RUN_DIR [--folds 5] [--out cv.json]`` takes the pooled
embeddings a training run saved (``outputs.npz``: the backbone the pack ships, before its head) of
the training and validation images, and scores logistic-regression heads with each class-imbalance
treatment (none, square-root and fully balanced class weights, and balanced sampling by
oversampling) in ``StratifiedGroupKFold`` folds grouped by the run's group key (``lesion_id``): ROC-AUC
(one-vs-rest macro for more than two classes) and balanced accuracy, mean and spread over folds.
It is cheap (seconds) because the backbone does not run again.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

TREATMENTS = ("none", "sqrt", "balanced", "oversample")


def _weights(y: np.ndarray, n_classes: int, how: str) -> np.ndarray:
    counts = np.bincount(y, minlength=n_classes).astype(float)
    w = len(y) / (n_classes * np.maximum(counts, 1))
    if how == "sqrt":
        w = np.sqrt(w)
    if how in ("none", "oversample"):
        w = np.ones(n_classes)
    return w[y]


def _oversample(idx: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``idx`` with every class drawn up to the largest class's count (balanced sampling)."""
    classes = np.unique(y[idx])
    top = max(int(np.sum(y[idx] == c)) for c in classes)
    parts = [rng.choice(idx[y[idx] == c], size=top, replace=True) for c in classes]
    return np.concatenate(parts)


def cross_validate(emb: np.ndarray, y: np.ndarray, groups: np.ndarray, n_classes: int, *, folds: int = 5,
                   seed: int = 0, treatments=TREATMENTS) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.preprocessing import StandardScaler

    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = list(cv.split(emb, y, groups))
    for tr, va in splits:
        assert not set(groups[tr]) & set(groups[va]), "a group on both sides of a fold"
    rng = np.random.default_rng(seed)
    out = {}
    for how in treatments:
        aucs, bals = [], []
        for tr, va in splits:
            fit_idx = _oversample(tr, y, rng) if how == "oversample" else tr
            scaler = StandardScaler().fit(emb[fit_idx])
            clf = LogisticRegression(C=0.1, max_iter=300)
            clf.fit(scaler.transform(emb[fit_idx]), y[fit_idx], sample_weight=_weights(y[fit_idx], n_classes, how))
            p = clf.predict_proba(scaler.transform(emb[va]))
            if n_classes == 2:
                aucs.append(roc_auc_score(y[va], p[:, 1]))
            else:
                aucs.append(roc_auc_score(y[va], p, multi_class="ovr", average="macro", labels=list(range(n_classes))))
            bals.append(balanced_accuracy_score(y[va], p.argmax(1)))
        out[how] = {"roc_auc_mean": float(np.mean(aucs)), "roc_auc_sd": float(np.std(aucs)),
                    "balanced_accuracy_mean": float(np.mean(bals)), "balanced_accuracy_sd": float(np.std(bals))}
    return {"folds": folds, "n": int(len(y)), "groups": int(len(set(groups.tolist()))), "treatments": out}


def study(run_dir: Path, folds: int = 5, log=print) -> dict:
    from training.pipeline.splits import read_split

    run_dir = Path(run_dir)
    arrays = np.load(run_dir / "outputs.npz")
    split = read_split(run_dir / "split.csv")
    emb = np.concatenate([arrays["train_embedding"], arrays["val_embedding"]]).astype(np.float64)
    y = np.concatenate([arrays["train_labels"], arrays["val_labels"]]).astype(int)
    groups = np.array([s.group or s.id for s in split["train"] + split["val"]], dtype=object)
    ids = np.concatenate([arrays["train_ids"], arrays["val_ids"]])
    if list(ids) != [s.id for s in split["train"] + split["val"]]:
        raise ValueError(f"{run_dir}: outputs.npz and split.csv list different images")
    n_classes = int(max(y.max() + 1, 2))
    result = cross_validate(emb, y, groups, n_classes, folds=folds)
    for how, r in result["treatments"].items():
        log(f"{how:10s}: ROC-AUC {r['roc_auc_mean']:.4f} ± {r['roc_auc_sd']:.4f}, balanced accuracy "
            f"{r['balanced_accuracy_mean']:.4f} ± {r['balanced_accuracy_sd']:.4f} ({folds} lesion-grouped folds)")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.pipeline.cv_study", description=__doc__)
    p.add_argument("run_dir", type=Path)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    result = study(a.run_dir, a.folds)
    if a.out:
        a.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
