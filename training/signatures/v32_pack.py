"""signature-verify 3.2.0 (issue #23): 3.1.1's pack with the hand-crafted LBP channel in its graph.

    python -m training.signatures.v32_pack --out runs/sig3 [--card-only]

What changes against 3.1.1, and where it comes from:

* ``model.onnx``: 3.1.1's graph with the LBP channel spliced in by
  :func:`training.signatures.v32_channel_onnx.add_channel` (``v32_channel_onnx`` writes it under
  ``runs/``; w = 0.5, 64-dim whitening fitted on the development writers). Its ``embedding`` is the
  fused one; its norm is the CNN embedding's, so the domain check's limits keep their meaning.
* ``cohort.npy``: the same 300 development-writer genuine signatures as 3.1.x (the same draw), embedded
  by the new model through the app's own Verifier and checked against the training-side fused
  embeddings. Stored as float16 only if that changes no decision (``cohort_precision``).
* The scoring block: from ``channel-train.json`` (:mod:`training.signatures.v32_channel_train`, 3.1.1's
  CV steps on the fused embedding), written by :func:`training.signatures.v31_pack.manifest`; the
  reference-outlier floor by 3.0's rule on the fused cosines.
* No test numbers: CEDAR 36–45 and Bengali 71–80 have been looked at twice; 3.2.0 was not scored on
  them. 3.1.x's second look is kept under ``metrics.previous_version``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import time
from pathlib import Path

import numpy as np

from inference.registry import PackRegistry
from training.signatures.corpora import dev_writers, load_corpora, test_writers
from training.signatures.v3_features import BENGALI, CEDAR
from training.signatures.v31_norm import _unit, cohort_of
from training.signatures.v31_pack import COHORT_FILE, _npy, _r, manifest, samples_pass
from training.signatures.v31_train import COHORT_SEED

VERSION = "3.2.0"
NO_TEST = ("no fresh test writers: the independent evaluation is the only test. CEDAR 36-45 and Bengali 71-80 were "
           "3.0.0's test writers (scored once with it) and had a second look with 3.1.0; 3.2.0 was chosen by the "
           "development-writer CV only and was not scored on them (no third look)")


def _verifier(pack: Path):
    from inference.signature.verifier import Verifier

    return Verifier(PackRegistry([(pack.parent, "bundled")]).get(pack.name), "cpu")


def training_side(out: Path, res: dict, items, wr, gen):
    """(cohort indices, the cohort's training-side CNN embedding, its fused unit embedding, the LBP layer)."""
    from training.signatures.corpora import normalize_all
    from training.signatures.v3_features import OPTIONS
    from training.signatures.v3_train import fit_layers, prep
    from training.signatures.v32_channel import CHANNELS, handcrafted_cache

    cnn = np.load(out / "cohort31.npy").astype(np.float64)   # v31_train's embedding of the pack's cohort
    idx = cohort_of(np.empty((len(wr), 0)), wr, gen, test_writers(), len(cnn), COHORT_SEED)
    dev = np.isin(wr, dev_writers())
    cv = normalize_all(items, OPTIONS, out)
    h = np.nan_to_num(prep(handcrafted_cache(out, cv.key, dev, cv.canvas), CHANNELS[res["channel"]]))
    layer = fit_layers(h, wr, gen, dev, (0,), res["pca"])[0]
    w = res["weight"]
    fused = np.concatenate([np.sqrt(w) * _unit(cnn), np.sqrt(1 - w) * _unit(layer(h[idx]))], axis=1)
    return idx, cnn, fused, layer, h


def cohort_embeddings(pack: Path, res: dict, out: Path, log=print):
    items = load_corpora(CEDAR, BENGALI)
    wr = np.array([it.writer for it in items])
    gen = np.array([it.genuine for it in items])
    idx, cnn, fused, layer, h = training_side(out, res, items, wr, gen)
    t0 = time.perf_counter()
    app = np.stack([d.descriptor.embedding for d in _verifier(pack)._describe_many(
        [items[i].path for i in idx], [None] * len(idx), use_cache=False)]).astype(np.float64)
    d = cnn.shape[1]
    w = res["weight"]
    parity = {"cnn_part_max_abs": float(np.abs(app[:, :d] / np.sqrt(w) - cnn).max()),
              "fused_min_cosine": float(np.min(np.sum(_unit(app) * fused, axis=1))),
              "norm_max_rel": float(np.max(np.abs(np.linalg.norm(app, axis=1) / np.linalg.norm(cnn, axis=1) - 1))),
              "seconds": round(time.perf_counter() - t0, 1), "n": int(len(idx)),
              "writers": int(len(np.unique(wr[idx]))), "test_writers_in_cohort": int(np.isin(wr[idx], test_writers()).sum())}
    log(f"cohort: {parity}")
    return app, parity, (items, wr, gen, layer, h)


def precision_check(pack: Path, m: dict, app: np.ndarray, ctx, res: dict, out: Path, log=print) -> dict:
    """float32 vs float16 cohort on the same embeddings: every decision (label, review) and score at the
    shipped operating points, on development-writer rows (n = 5 and 10, one reference set per writer;
    training-side fused embeddings) and on the self-test samples."""
    from inference.signature.scoring import ScoringConfig, score
    from inference.signature.scoring_wd import WriterClassifier, WriterClassifierConfig, load_cohort
    from training.signatures.v3_eval import make_rows
    from training.signatures.v31_norm import load_features
    from training.signatures.v3_train import prep

    items, wr, gen, layer, h = ctx
    cfg = ScoringConfig.from_mapping(m["verify"]["scoring"], m["id"])
    wc = WriterClassifierConfig.from_mapping(m["verify"]["scoring"]["writer_classifier"], m["id"])
    clf = {k: WriterClassifier(wc, load_cohort(_npy(app.astype(dt)), m["id"])) for k, dt in
           (("float32", np.float32), ("float16", np.float16))}
    fl = np.load(out / "final_layer.npz")
    dev = np.isin(wr, dev_writers())
    cnn = (prep(load_features(out), [str(t) for t in fl["taps"]]) - fl["mean"]) @ fl["matrix"]
    w = res["weight"]
    e = np.zeros((len(wr), cnn.shape[1] + layer.matrix.shape[1]))
    e[dev] = np.concatenate([np.sqrt(w) * _unit(cnn[dev]), np.sqrt(1 - w) * _unit(layer(h[dev]))], axis=1)
    corpus = np.array([it.corpus for it in items], dtype=object)
    report = {}
    for n in (5, 10):
        rows = make_rows(e, wr, gen, corpus, dev_writers(), n, 1, 20260)
        point, _ = cfg.point(n)
        got = {k: [] for k in clf}
        for q, refs in zip(rows.query, rows.refs):
            for k, c in clf.items():
                s = score(e[q], e[refs], cfg, shift=c.shift(e[q], e[refs], tuple(map(str, refs)))).overall
                got[k].append(s)
        a, b = np.array(got["float32"]), np.array(got["float16"])
        report[str(n)] = {"queries": int(len(a)), "max_abs_score": float(np.abs(a - b).max()),
                          "label_changes": int(np.sum((a >= point.threshold) != (b >= point.threshold))),
                          "review_changes": int(np.sum(((point.low <= a) & (a < point.high))
                                                       != ((point.low <= b) & (b < point.high))))}
        log(f"float16 cohort, n={n}: {report[str(n)]}")
    report["same_decisions"] = all(r["label_changes"] == 0 and r["review_changes"] == 0 for r in report.values())
    report["within_1e-3"] = all(r["max_abs_score"] <= 1e-3 for k, r in report.items() if isinstance(r, dict))
    return report


def sample_check(verifier, samples: Path) -> list[dict]:
    """Every shipped self-test entry as this pack decides it (before any re-pick): what the card reports."""
    entries = json.loads((samples / "samples.json").read_text(encoding="utf-8"))
    got = []
    for e in entries:
        r = verifier.verify(samples / e["file"], [samples / x for x in e["references"]], overlay=False)
        got.append({"file": e["file"], "source": e["source"], "expected": e["expected"], "label": r.label,
                    "score": round(r.score, 4), "needs_review": bool(r.needs_review),
                    "ok": r.label == e["expected"] and not r.needs_review})
    return got


def manifest32(old: dict, res: dict, cohort_sha: str, model_sha: str, parity: dict, extra: dict) -> dict:
    prev = {"version": old["version"], "scoring": old["verify"]["scoring"], "test": old["metrics"]["test"],
            "test_status": old["metrics"]["test_status"],
            "cv_operating_points": old["metrics"]["cv_operating_points"],
            **{k: old["metrics"][k] for k in ("cv_fusion", "test_3_0_0_same_rows", "correction", "cohort_parity")
               if k in old["metrics"]}, "previous_version": old["metrics"].get("previous_version")}
    m = manifest(old, {**res, "second_look": {}}, cohort_sha, parity)
    m["version"] = VERSION
    m["model"]["sha256"] = model_sha
    m["verify"]["scoring"]["reference_outlier_floor"] = _r(res["reference_outlier_floor"])
    mt = m["metrics"]
    mt["protocol"] = ("5-fold writer-grouped CV over development writers CEDAR 1-35 + Bengali 1-70 chose everything "
                      "(the hand-crafted channel, its weight and whitening size by the study's ship rule written "
                      "before its numbers; the writer classifier's ridge, beta and min_references, the calibrations, "
                      "the operating points and the reference-outlier floor by 3.1.1's CV steps on the fused "
                      "embedding)")
    mt["test_status"] = NO_TEST
    mt["test"] = None
    for k in ("test_3_0_0_same_rows", "correction"):
        mt.pop(k, None)
    mt["previous_version"] = prev
    mt["channel"] = {"kind": res["channel"], "weight": res["weight"], "pca": res["pca"],
                     "how": "uniform-LBP histograms of the binary canvas (1x1 and 2x4 cells), whitened (PCA fitted "
                            "on the development writers), fused into the embedding: cosine = w*cos_cnn + (1-w)*cos_lbp; "
                            "embedding norm = the CNN embedding's", **extra.get("channel", {})}
    mt["cohort_precision"] = extra["precision"]
    m["training"]["command"] = (m["training"]["command"] + " && python -m training.signatures.v32_channel "
                                "&& python -m training.signatures.v32_channel_onnx "
                                "&& python -m training.signatures.v32_channel_train "
                                "&& python -m training.signatures.v32_pack")
    m["training"]["backbone"] = (old["training"]["backbone"] + "; 3.2.0: + a uniform-LBP channel "
                                 f"(w {res['weight']}, whitening PCA {res['pca']}) computed in the graph")
    m["data"]["split"] = ("by writer: development CEDAR 1-35 + Bengali 1-70 (5-fold writer-grouped CV chooses "
                          "everything); CEDAR 36-45 + Bengali 71-80 scored once with 3.0.0, a second look with "
                          "3.1.0, not scored with 3.2.0")
    return m


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3")
    ap.add_argument("--pack", default="models/signature-verify")
    ap.add_argument("--samples", default="resources/samples/signature-verify")
    ap.add_argument("--results", default="channel-train.json")
    ap.add_argument("--card-only", action="store_true")
    args = ap.parse_args(argv)
    out, pack, samples = Path(args.out), Path(args.pack), Path(args.samples)
    res = json.loads((out / args.results).read_text())
    if args.card_only:
        from training.signatures.v32_pack_card import write_card32

        write_card32(pack / "CARD.md", json.loads((pack / "manifest.json").read_text()), res, out)
        return 0
    t0 = time.perf_counter()
    old = json.loads((pack / "manifest.json").read_text())
    if old["version"] == VERSION:
        raise SystemExit(f"{pack} is already {VERSION}: rebuild from 3.1.1's files (git checkout main -- {pack} "
                         f"{samples})")
    model = out / f"model-lbp-w{res['weight']}-pca{res['pca']}.onnx"
    shutil.copyfile(model, pack / "model.onnx")
    model_sha = hashlib.sha256((pack / "model.onnx").read_bytes()).hexdigest()
    # the old manifest's model hash would refuse the new graph: the cohort pass needs a consistent pack
    tmp = json.loads(json.dumps(old))
    tmp["model"]["sha256"] = model_sha
    (pack / "manifest.json").write_text(json.dumps(tmp, indent=1), encoding="utf-8")
    app, parity, ctx = cohort_embeddings(pack, res, out)
    cost = json.loads((out / f"channel-onnx-cost-pca{res['pca']}.json").read_text())
    extra = {"channel": {"added_ms_per_image_cpu": round(cost["added_ms"], 2), "onnx_parity_min_cosine":
                         cost["parity_min_cosine_channel"], "model_bytes": cost["model_bytes"]}}
    m = manifest32(old, res, "", model_sha, parity, {**extra, "precision": {}})
    precision = precision_check(pack, m, app, ctx, res, out)
    use16 = precision["same_decisions"] and precision["within_1e-3"]
    data = _npy(app.astype(np.float16 if use16 else np.float32))
    (pack / COHORT_FILE).write_bytes(data)
    parity["bytes"], parity["dtype"] = len(data), "float16" if use16 else "float32"
    m = manifest32(old, res, hashlib.sha256(data).hexdigest(), model_sha, parity, {**extra, "precision": precision})
    (pack / "manifest.json").write_text(json.dumps(m, indent=1, default=float), encoding="utf-8")
    verifier = _verifier(pack)
    before = sample_check(verifier, samples)
    repicked = False
    if not samples_pass(verifier, samples):
        from training.signatures.v3_pack import pick_samples

        pick_samples(load_corpora(CEDAR, BENGALI), verifier, samples)
        repicked = True
    info = {"seconds": round(time.perf_counter() - t0, 1), "repicked": repicked, "before_repick": before,
            "after": json.loads((samples / "samples.json").read_text(encoding="utf-8"))}
    (out / "pack32.json").write_text(json.dumps(info))
    from training.signatures.v32_pack_card import write_card32

    write_card32(pack / "CARD.md", m, res, out)
    print(f"{VERSION} written; cohort {len(data) / 1e3:.0f} kB ({parity['dtype']}); samples re-picked: {repicked}; "
          f"{info['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
