"""Generalisation study for the seal classifier: leave-one-out and cross-renderer measures.

Two kinds of numbers, written to one JSON file and a Markdown table for the card:

1. **Frozen-feature heads** (cheap, many of them): pooled features of a fixed ImageNet backbone (the
   bundled ``imagenet-lite0`` pack's ``embedding`` output, run through the app's own preprocessing) are
   extracted once per image and cached; a logistic-regression head is trained on renderer-1 rows and
   scored on held-out rows: leave-one-family-out, leave-one-background-out, leave-one-lighting-out
   (:func:`training.seals.holdout.leave_one_out`), a fresh seed of the same generator, and the second
   renderer (``training.seals_alt``). The head's regularisation is chosen by leave-one-family-out CV
   on renderer 1 only; renderer 2 is scored once, after the choice.
2. **A pack as the app runs it** (:func:`evaluate_pack`): accuracy of the app's decision, ROC-AUC of
   P(damaged), and how many photos the app sends to review or refuses as out of domain.

    python -m training.seals.study --train runs/data/seal-integrity --fresh runs/data/seal-integrity-test \\
        --alt runs/seal-alt/test [--narrow runs/data/seal-narrow] [--pack models/seal-integrity] --out runs/study
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from training.seals.holdout import leave_one_out

_REPO = Path(__file__).resolve().parents[2]
C_GRID = (0.01, 0.1, 1.0)


def read_rows(folder: Path) -> list[dict]:
    """The ``labels.csv`` rows of a generated set (either renderer), with ``path`` added."""
    folder = Path(folder)
    csv_path = folder / "labels.csv"
    if not csv_path.is_file():
        raise FileNotFoundError(f"no labels.csv in {folder}: render the set first")
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["path"] = str(folder / r["file"])
    return rows


def _load_rgb(path: str) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def extract_features(rows: list[dict], pack_dir: Path, cache: Path, batch: int = 16) -> np.ndarray:
    """``embedding`` of the pack at ``pack_dir`` for every row (cached on disk by file list + model hash)."""
    from inference.inspector import Inspector
    from inference.preprocess import preprocess
    from inference.registry import check_pack

    pack = check_pack(Path(pack_dir))
    if not pack.usable:
        raise RuntimeError(f"pack {pack_dir} is not usable: {pack.problem}")
    key = hashlib.sha256((pack.manifest.model.sha256 + "\n".join(r["path"] for r in rows)).encode()).hexdigest()[:16]
    cache.mkdir(parents=True, exist_ok=True)
    f = cache / f"features-{key}.npy"
    if f.is_file():
        return np.load(f)
    insp = Inspector(pack, use_guard=False)
    spec = pack.manifest.input
    out = []
    for i in range(0, len(rows), batch):
        x = np.stack([preprocess(_load_rgb(r["path"]), spec)[0] for r in rows[i:i + batch]])
        out.append(insp.run_tensors(x)["embedding"].astype(np.float32))
    feats = np.concatenate(out)
    np.save(f, feats)
    return feats


def _y(rows: list[dict]) -> np.ndarray:
    return np.array([1 if r["label"] == "damaged" else 0 for r in rows])


def _head(C: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000))


def score(y: np.ndarray, p: np.ndarray) -> dict:
    """Accuracy at 0.5 and ROC-AUC of P(damaged)."""
    from sklearn.metrics import roc_auc_score
    return dict(n=int(len(y)), accuracy=round(float(np.mean((p >= 0.5) == y)), 4),
                roc_auc=round(float(roc_auc_score(y, p)), 4) if 0 < y.sum() < len(y) else None)


def holdout_scores(rows: list[dict], X: np.ndarray, column: str, C: float) -> dict:
    """Leave-one-``column``-out: per held-out value and the mean over values."""
    y = _y(rows)
    group = "scene" if "scene" in rows[0] and rows[0]["scene"] != "" else None
    per = {}
    for value, tr, te in leave_one_out(rows, column, group_column=group):
        head = _head(C).fit(X[tr], y[tr])
        per[value] = score(y[te], head.predict_proba(X[te])[:, 1])
    accs = [v["accuracy"] for v in per.values()]
    aucs = [v["roc_auc"] for v in per.values() if v["roc_auc"] is not None]
    return dict(per_value=per, mean_accuracy=round(float(np.mean(accs)), 4),
                mean_roc_auc=round(float(np.mean(aucs)), 4), worst_roc_auc=round(float(np.min(aucs)), 4))


def evaluate_pack(pack_dir: Path, rows: list[dict]) -> dict:
    """The pack as the app runs it (``Inspector``) on ``rows``: decision accuracy, ROC-AUC, review/refusal.

    ``accuracy_app`` applies the pack's alarm threshold to P(damaged), as the card's "app decision"
    does; ``review_rate`` / ``ood_rate`` say how many of the photos the app would not have decided alone.
    """
    from inference.inspector import Inspector
    from inference.registry import check_pack

    pack = check_pack(Path(pack_dir))
    if not pack.usable:
        raise RuntimeError(f"pack {pack_dir} is not usable: {pack.problem}")
    insp = Inspector(pack)
    thr = pack.manifest.decision.alarm_threshold
    thr = 0.5 if thr is None else float(thr)
    y, p, decided, review, ood, per_kind = [], [], [], [], [], {}
    results = insp.classify_batch([r["path"] for r in rows], batch_size=8)
    for r, item in zip(rows, results):
        if not item.ok:
            raise RuntimeError(f"{item.source}: {item.error}")
        res = item.result
        y.append(1 if r["label"] == "damaged" else 0)
        p.append(float(res.probabilities.get("damaged", 0.0)))
        # the app's decision rule (alarm threshold on P(damaged)), as the card's "app decision"; a
        # refusal or a review is counted on its own below, not as a wrong answer
        decided.append(1 if p[-1] >= thr else 0)
        review.append(bool(res.needs_review))
        ood.append(bool(res.out_of_domain))
        k = r.get("kind") or r.get("family") or "all"
        per_kind.setdefault(k, []).append(len(y) - 1)
    y, p, decided = np.array(y), np.array(p), np.array(decided)
    review, ood = np.array(review), np.array(ood)
    out = score(y, p)
    out.update(accuracy_app=round(float(np.mean(decided == y)), 4), review_rate=round(float(review.mean()), 4),
               ood_rate=round(float(ood.mean()), 4),
               review_or_ood_rate=round(float(np.mean(review | ood)), 4),
               version=pack.manifest.version)
    out["by_kind"] = {k: dict(score(y[ix], p[ix]), accuracy_app=round(float(np.mean(decided[ix] == y[ix])), 4))
                      for k, ix in sorted(per_kind.items())}
    return out


def run_study(train: Path, fresh: Path | None, alt: Path | None, narrow: Path | None, backbone: Path,
              cache: Path, pack: Path | None = None, log=print) -> dict:
    """Everything in the module docstring; returns the JSON-able result."""
    t0 = time.time()
    res: dict = dict(backbone=str(backbone), heads="StandardScaler + LogisticRegression on pooled features")
    r1 = read_rows(train)
    log(f"features: renderer 1 ({len(r1)} rows)")
    X1 = extract_features(r1, backbone, cache)
    y1 = _y(r1)
    # the head's C: leave-one-family-out on renderer 1 only
    cv = {C: holdout_scores(r1, X1, "family", C)["mean_roc_auc"] for C in C_GRID}
    C = max(cv, key=cv.get)
    res["choice"] = dict(C=C, lofo_mean_roc_auc_by_C=cv, chosen_by="leave-one-family-out on renderer 1")
    log(f"chosen C={C} ({cv})")
    for col in ("family", "background", "lighting"):
        res[f"leave_one_{col}_out"] = holdout_scores(r1, X1, col, C)
        log(f"leave-one-{col}-out: {res[f'leave_one_{col}_out']['mean_roc_auc']}")
    head = _head(C).fit(X1, y1)
    sets = {}
    if fresh:
        sets["fresh_seed"] = read_rows(fresh)
    if alt:
        sets["renderer_2"] = read_rows(alt)
    for name, rows in sets.items():
        X = extract_features(rows, backbone, cache)
        res[name] = score(_y(rows), head.predict_proba(X)[:, 1])
        log(f"{name}: {res[name]}")
    if narrow and alt:
        rn = read_rows(narrow)
        Xn = extract_features(rn, backbone, cache)
        hn = _head(C).fit(Xn, _y(rn))
        Xa = extract_features(sets["renderer_2"], backbone, cache)
        res["narrow_to_renderer_2"] = score(_y(sets["renderer_2"]), hn.predict_proba(Xa)[:, 1])
        res["narrow_to_renderer_2"]["train_rows"] = len(rn)
        log(f"narrow generator -> renderer 2: {res['narrow_to_renderer_2']}")
    if pack is not None:
        for name, rows in sets.items():
            res[f"pack_{name}"] = evaluate_pack(pack, rows)
            log(f"pack on {name}: {res[f'pack_{name}']}")
    res["seconds"] = round(time.time() - t0, 1)
    return res


CARD_BEGIN = "<!-- generalisation:begin -->"
CARD_END = "<!-- generalisation:end -->"


def _fmt(d: dict | None, key: str = "accuracy") -> str:
    if not d:
        return "-"
    return f"{d.get(key):.3f}" if d.get(key) is not None else "-"


def card_section(res: dict, targets: dict | None = None) -> str:
    """The card's Markdown section for a study result (cross-renderer beside same-renderer numbers)."""
    t = targets or {"renderer_2": (0.85, 0.90), "fresh_seed": (0.97, 0.99)}
    L = [CARD_BEGIN, "## Generalisation: another renderer, and conditions left out", ""]
    L.append("Every number on this card so far comes from the generator the model was trained on. This section "
             "asks whether it learned seals or the generator: the same pack on photos drawn by a **second, "
             "independent renderer** (`training/seals_alt`: strip seals on hasps, bolt seals, adhesive labels "
             "on steel, rust and cardboard; cut strips, cut shanks, cracked barrels, torn and lifted VOID "
             "labels, missing seals; written without the first renderer's code and never used for training "
             "or for any choice), beside a fresh seed of its own generator.")
    L.append("")
    L.append("| test set | n | accuracy (app decision) | ROC-AUC | sent to review or refused | target (acc. / AUC) |")
    L.append("|---|---|---|---|---|---|")
    for key, name, tkey in (("pack_own_test", "own generator: the test render above", "fresh_seed"),
                            ("pack_fresh_seed", "own generator, fresh seed", "fresh_seed"),
                            ("pack_wide_fresh", "generator 1.2 in wide mode (photo textures, hands, glare, "
                                                "low JPEG), fresh seed", None),
                            ("pack_renderer_2", "second renderer", "renderer_2")):
        d = res.get(key)
        if not d:
            continue
        target = "-"
        if tkey:
            tt = t[tkey]
            met = "met" if d["accuracy_app"] >= tt[0] and (d["roc_auc"] or 0) >= tt[1] else "missed"
            target = f"{tt[0]} / {tt[1]} ({met})"
        L.append(f"| {name} | {d['n']} | {d['accuracy_app']:.3f} | {_fmt(d, 'roc_auc')} | "
                 f"{d['review_or_ood_rate']:.1%} | {target} |")
    for key, name in (("pack_before_renderer_2", "second renderer, previous version"),):
        d = res.get(key)
        if d:
            L.append(f"| {name} ({d.get('version', '?')}) | {d['n']} | {d['accuracy_app']:.3f} | {_fmt(d, 'roc_auc')} | "
                     f"{d['review_or_ood_rate']:.1%} | - |")
    if res.get("pack_note"):
        L += ["", res["pack_note"]]
    d = res.get("pack_renderer_2")
    if d and d.get("by_kind"):
        L += ["", "Second renderer by seal kind: " + "; ".join(
            f"{k} accuracy {v['accuracy_app']:.3f}, ROC-AUC {_fmt(v, 'roc_auc')} (n={v['n']})" for k, v in d["by_kind"].items()) + "."]
    L += ["", "**Leave-one-out on the generator (frozen-feature heads).** A logistic-regression head on the "
          f"pooled features of a fixed ImageNet backbone ({Path(res.get('backbone', '')).name}), trained on the "
          f"training render{res.get('train_desc', '')} with one family, background or lighting set-up left out and tested on it "
          f"(regularisation C={res.get('choice', {}).get('C')} chosen by leave-one-family-out on the first "
          "renderer only). It measures how far the *data* carries to unseen conditions, not this pack.", ""]
    L.append("| held out | mean accuracy | mean ROC-AUC | worst ROC-AUC | per value (ROC-AUC) |")
    L.append("|---|---|---|---|---|")
    for col in ("family", "background", "lighting"):
        d = res.get(f"leave_one_{col}_out")
        if d:
            per = ", ".join(f"{k} {_fmt(v, 'roc_auc')}" for k, v in d["per_value"].items())
            L.append(f"| one {col} | {d['mean_accuracy']:.3f} | {d['mean_roc_auc']:.3f} | {d['worst_roc_auc']:.3f} | {per} |")
    rows = [("fresh seed of the generator", res.get("fresh_seed")), ("second renderer", res.get("renderer_2")),
            ("second renderer, head trained on 1,200 wide renders", res.get("wide_1200_to_r2")),
            ("second renderer, head trained on 1,200 narrow (1.1-style) renders", res.get("narrow_to_renderer_2"))]
    if any(d for _, d in rows):
        L += ["", "The same frozen-feature head trained on the whole training render:", "",
              "| test set | n | accuracy | ROC-AUC |", "|---|---|---|---|"]
        for name, d in rows:
            if d:
                L.append(f"| {name} | {d['n']} | {d['accuracy']:.3f} | {_fmt(d, 'roc_auc')} |")
    L += ["", CARD_END, ""]
    return "\n".join(L)


def write_card_section(card: Path, res: dict) -> None:
    """Insert (or replace) the generalisation section in a pack's CARD.md, after its first section."""
    text = card.read_text(encoding="utf-8")
    block = card_section(res)
    if CARD_BEGIN in text and CARD_END in text:
        head, rest = text.split(CARD_BEGIN, 1)
        text = head + block + rest.split(CARD_END, 1)[1].lstrip("\n")
    else:
        marker = "\n## Intended use"
        i = text.find(marker)
        text = text[:i + 1] + block + "\n" + text[i + 1:] if i >= 0 else text.rstrip("\n") + "\n\n" + block
    card.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    """Command line: see the module docstring."""
    ap = argparse.ArgumentParser(prog="python -m training.seals.study", description=__doc__.split("\n")[0])
    ap.add_argument("--train", type=Path, required=True, help="renderer-1 set (labels.csv with family/background/lighting)")
    ap.add_argument("--fresh", type=Path, help="renderer-1 set with another seed")
    ap.add_argument("--alt", type=Path, help="renderer-2 set (training.seals_alt)")
    ap.add_argument("--narrow", type=Path, help="a renderer-1 set without wide mode (for comparison)")
    ap.add_argument("--backbone", type=Path, default=_REPO / "models" / "imagenet-lite0")
    ap.add_argument("--pack", type=Path, help="also run this pack as the app does on --fresh and --alt")
    ap.add_argument("--cache", type=Path, default=_REPO / "runs" / "study-cache")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--before", type=Path, help="an earlier pack folder, also run on --alt (for comparison)")
    ap.add_argument("--card", type=Path, help="write the section into this CARD.md")
    a = ap.parse_args(argv)
    try:
        res = run_study(a.train, a.fresh, a.alt, a.narrow, a.backbone, a.cache, a.pack)
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if a.before is not None and a.alt is not None:
        res["pack_before_renderer_2"] = evaluate_pack(a.before, read_rows(a.alt))
    a.out.mkdir(parents=True, exist_ok=True)
    if a.card is not None:
        write_card_section(a.card, res)
    (a.out / "study.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {a.out / 'study.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
