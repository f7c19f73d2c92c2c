"""signature-verify 3.1.0: the pack from :mod:`training.signatures.v31_train`'s results.

    python -m training.signatures.v31_pack --out runs/sig3

``model.onnx`` is 3.0.0's, unchanged. Added: ``cohort.npy`` (the 300 development-writer genuine
signatures the customer's classifier is trained against, embedded by the shipped ``model.onnx``
through the app's own Verifier, so the app sees exactly these numbers) and the ``writer_fused``
scoring block with its operating points. The 3.0.0 scoring block and test numbers are kept under
``metrics.previous_version``. The self-test samples are checked with the new pack and re-picked
only if one no longer passes. Then CARD.md is rewritten.

``--corrected 3.1.1`` (issue #23): a manifest-only release from the corrected CV — ``model.onnx`` and
``cohort.npy`` kept byte for byte, the superseded scoring kept under ``metrics.correction``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import time
from pathlib import Path

import numpy as np

from inference.registry import PackRegistry
from training.signatures.corpora import load_corpora, test_writers
from training.signatures.v3_features import BENGALI, CEDAR
from training.signatures.v31_norm import _unit, cohort_of
from training.signatures.v31_train import COHORT_SEED

VERSION = "3.1.0"
COHORT_FILE = "cohort.npy"
SECOND_LOOK = ("second look: CEDAR 36-45 and Bengali 71-80 were the test writers of 3.0.0 and were scored once "
               "with it; 3.1.0 was chosen without them, but its numbers there are a second look at writers whose "
               "3.0.0 results were known, not an untouched test")


def _r(x, k=6):
    return round(float(x), k)


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def cohort_embeddings(pack: Path, res: dict, out: Path, log=print) -> tuple[np.ndarray, dict]:
    """The cohort's images (the indices v31_train drew) embedded by the 3.0.0 pack's Verifier; checked
    against the training-side embeddings v31_train used for the second look."""
    from inference.signature.verifier import Verifier

    items = load_corpora(CEDAR, BENGALI)
    wr = np.array([it.writer for it in items])
    gen = np.array([it.genuine for it in items])
    train_side = np.load(out / "cohort31.npy").astype(np.float64)
    layer = np.load(out / "final_layer.npz")
    from training.signatures.v31_norm import load_features
    from training.signatures.v3_train import prep

    emb = (prep(load_features(out), [str(t) for t in layer["taps"]]) - layer["mean"]) @ layer["matrix"]
    idx = cohort_of(_unit(emb), wr, gen, test_writers(), len(train_side), COHORT_SEED)
    assert np.allclose(emb[idx], train_side, atol=1e-4), "the cohort indices do not reproduce v31_train's"
    v = Verifier(PackRegistry([(pack.parent, "bundled")]).get(pack.name), "cpu")
    t0 = time.perf_counter()
    app = np.stack([d.descriptor.embedding for d in v._describe_many([items[i].path for i in idx], [None] * len(idx),
                                                                        use_cache=False)])
    parity = {"max_abs": float(np.abs(app - train_side).max()),
              "min_cosine": float(np.min(np.sum(_unit(app) * _unit(train_side), axis=1))),
              "seconds": round(time.perf_counter() - t0, 1), "n": int(len(idx)),
              "writers": int(len(np.unique(wr[idx])))}
    log(f"cohort: {parity}")
    return app.astype(np.float32), parity


def manifest(old: dict, res: dict, cohort_sha: str, parity: dict) -> dict:
    m = json.loads(json.dumps(old))
    prev = m["metrics"].get("previous_version") or {"version": old["version"], "scoring": old["verify"]["scoring"],
                                                    "test": old["metrics"]["test"],
                                                    "cv_operating_points": old["metrics"]["cv_operating_points"]}
    rec, plain, ch = res["recipe"], res["recipe_without_classifier"], res["chosen"]
    points = {n: {k: {"threshold": _r(v["threshold"]), "review": [_r(v["review"][0]), _r(v["review"][1])]}
                  for k, v in p.items()} for n, p in res["operating_points"].items()}
    s = prev["scoring"]
    m["version"] = VERSION
    m["extra_files"] = {"cohort": {"file": COHORT_FILE, "sha256": cohort_sha}}
    m["verify"]["scoring"] = {
        "mode": "writer_fused",
        "calibration": {"a": _r(plain["a"]), "b": _r(plain["b"])},
        "reference_normalization": {"lambda": rec["lam"], "prior": _r(rec["prior"])},
        "writer_classifier": {"kind": "rbf_least_squares", "cohort": "cohort", "gamma": "scale",
                              "ridge": ch["ridge"], "beta": ch["beta"], "min_references": ch["min_references"],
                              "calibration": {"a": _r(rec["a"]), "b": _r(rec["b"])}},
        "aggregate": rec["how"], "trim": rec["trim"],
        "operating_points": points,
        "reference_outlier_floor": s.get("reference_outlier_floor"),
        "min_references": s.get("min_references", 3),
    }
    grid = res["grid"]
    key, key0 = f"ridge{ch['ridge']}|beta{ch['beta']}", f"ridge{ch['ridge']}|beta0.0"
    m["metrics"] = {
        "protocol": old["metrics"]["protocol"].split("; 3.1.0:")[0] + "; 3.1.0: the writer classifier's ridge, beta "
                    "and min_references, "
                    "the calibration and the operating points chosen by the same CV; " + SECOND_LOOK,
        "test_status": SECOND_LOOK,
        "cv_fusion": {"chosen": ch, "by_references": {n: {"fused": grid[n][key], "without_classifier": grid[n][key0]}
                                                      for n in grid},
                      "nested": res["nested"], "classifier_helps": res["classifier_helps"]},
        "cv_operating_points": res["cv_operating_points"],
        "test": {n: {k: v for k, v in e.items() if not k.endswith("3_0_0")} for n, e in res["second_look"].items()},
        "test_3_0_0_same_rows": {n: {k[:-6]: v for k, v in e.items() if k.endswith("3_0_0")}
                                 for n, e in res["second_look"].items()},
        "previous_version": prev,
        "cohort_parity": parity,
        **{k: old["metrics"][k] for k in ("baselines", "writer_dependent", "overlay", "domain", "perturbation")
           if k in old["metrics"]},
    }
    if "perturbation" in m["metrics"]:  # training signature-attacks ran on 3.0.0; not rerun for 3.1.0
        m["metrics"]["perturbation"].setdefault("pack_version", prev["version"])
    m["training"]["command"] = ("python -m training.signatures.v3_features && python -m training.signatures.v31_features "
                                "&& python -m training.signatures.v31_train && python -m training.signatures.v3_export "
                                "&& python -m training.signatures.v31_pack")
    m["data"]["split"] = ("by writer: development CEDAR 1-35 + Bengali 1-70 (5-fold writer-grouped CV chooses "
                          "everything); CEDAR 36-45 + Bengali 71-80 scored once with 3.0.0, a second look with 3.1.0")
    return m


def corrected(m: dict, old: dict, res: dict, version: str) -> dict:
    """Issue #23's manifest-only release: ``m`` (the pack from the corrected CV) with the version, the
    record of what was wrong and the superseded scoring block. ``model.onnx`` and ``cohort.npy`` are
    unchanged; the test writers were not scored again, so ``metrics.test`` stays the second look at
    the *superseded* scorer and thresholds, and says so."""
    m["version"] = version
    sup = old["verify"]["scoring"]
    m["metrics"]["test_status"] = (
        f"{SECOND_LOOK}. These numbers are for {old['version']}'s scorer and operating points (ridge "
        f"{sup['writer_classifier']['ridge']}, beta {sup['writer_classifier']['beta']}, its calibration and thresholds); "
        f"{version} (chosen again by the corrected CV, issue #23) was not scored on the test writers")
    m["metrics"]["correction"] = {
        "issue": 23, "superseded_version": old["version"],
        "what_was_wrong": "the per-customer classifier's CV cohort (300 negatives per fold) was drawn from every writer "
                          "outside the scored fold, the test writers' genuine signatures included (as negatives, never "
                          "their labels); the shipped cohort.npy was not affected",
        "what_was_remeasured": "the CV (ridge/beta grid and nested CV, min_references, calibrations, operating points) "
                               "with the cohort drawn from the development writers outside the scored fold only",
        "superseded_scoring": sup,
        "superseded_cv_fusion": old["metrics"].get("cv_fusion"),
        "superseded_cv_operating_points": old["metrics"].get("cv_operating_points"),
        "superseded_scorer_corrected_cv": {n: g[key] for n, g in res["grid"].items()
                                           if (key := f"ridge{sup['writer_classifier']['ridge']}|"
                                                      f"beta{sup['writer_classifier']['beta']}") in g},
    }
    return m


def samples_pass(verifier, samples: Path) -> bool:
    entries = json.loads((samples / "samples.json").read_text(encoding="utf-8"))
    for e in entries:
        r = verifier.verify(samples / e["file"], [samples / x for x in e["references"]], overlay=False)
        if r.label != e["expected"] or r.needs_review:
            return False
        e["score"] = round(r.score, 4)
    (samples / "samples.json").write_text(json.dumps(entries, indent=1), encoding="utf-8")
    return True


def _timings(res: dict, info: dict) -> dict:
    what = "no second look: kept from 3.1.0" if res.get("second_look_from") else "second look"
    t = {f"v31_train (CV of 12 (ridge, β) × 4 reference counts, nested CV, operating points, {what})":
         f"{res['seconds']:.0f} s wall, {res['cpu_seconds']:.0f} s CPU (load average {res['load_average'][0]:.1f})"}
    if res.get("reuse"):
        r = res["reuse"]
        t["v31_train --reuse (below 5 references: the plain score's own calibration, points, second look)"] = (
            f"{r['seconds']:.0f} s wall, {r['cpu_seconds']:.0f} s CPU (load average {r['load_average'][0]:.1f})")
    what = "manifest only, samples check, card" if info.get("corrected") else "cohort through the app, manifest, samples, card"
    t[f"v31_pack ({what})"] = f"{info['seconds']:.0f} s"
    return t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3")
    ap.add_argument("--pack", default="models/signature-verify")
    ap.add_argument("--samples", default="resources/samples/signature-verify")
    ap.add_argument("--card-only", action="store_true", help="rewrite CARD.md from the 3.1.x manifest already written")
    ap.add_argument("--corrected", default="", help="VERSION: a manifest-only release from results31.json (issue #23): "
                    "model.onnx and cohort.npy kept byte for byte, the test writers not scored again")
    args = ap.parse_args(argv)
    out, pack, samples = Path(args.out), Path(args.pack), Path(args.samples)
    t0 = time.perf_counter()
    res = json.loads((out / "results31.json").read_text())
    if args.card_only:
        from training.signatures.v31_card import write_card31

        m = json.loads((pack / "manifest.json").read_text())
        write_card31(pack / "CARD.md", m, res, out, _timings(res, json.loads((out / "pack31.json").read_text())),
                     json.loads((out / "pack31.json").read_text())["repicked"])
        return 0
    old = json.loads((pack / "manifest.json").read_text())
    if args.corrected:
        data = (pack / COHORT_FILE).read_bytes()
        # the corrected run draws the pack's cohort exactly as before: the shipped file still is its embedding
        assert np.allclose(np.load(io.BytesIO(data)), np.load(out / "cohort31.npy"), atol=1e-4), "not the same cohort"
        m = corrected(manifest(old, res, hashlib.sha256(data).hexdigest(), old["metrics"]["cohort_parity"]), old, res,
                      args.corrected)
    else:
        cohort, parity = cohort_embeddings(pack, res, out)
        data = _npy(cohort)
        parity["bytes"] = len(data)
        (pack / COHORT_FILE).write_bytes(data)
        m = manifest(old, res, hashlib.sha256(data).hexdigest(), parity)
    (pack / "manifest.json").write_text(json.dumps(m, indent=1, default=float), encoding="utf-8")
    from inference.signature.verifier import Verifier

    verifier = Verifier(PackRegistry([(pack.parent, "bundled")]).get(m["id"]), "cpu")
    repicked = False
    if not samples_pass(verifier, samples):
        from training.signatures.v3_pack import pick_samples

        pick_samples(load_corpora(CEDAR, BENGALI), verifier, samples)
        repicked = True
    from training.signatures.v31_card import write_card31

    info = {"seconds": round(time.perf_counter() - t0, 1), "repicked": repicked, "corrected": bool(args.corrected)}
    (out / "pack31.json").write_text(json.dumps(info))
    write_card31(pack / "CARD.md", m, res, out, _timings(res, info), repicked)
    print(f"{m['version']} written; cohort {len(data) / 1e3:.0f} kB; samples re-picked: {repicked}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
