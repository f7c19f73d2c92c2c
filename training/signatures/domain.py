"""The verify pack's domain check: is the image a signature at all?

Two scores per image (:func:`inference.signature.verifier.domain_scores`): the squared norm of its
CNN embedding, which is whitened on the development writers' signatures and so measures how far the
image lies from them, and the share of the normalised canvas that is ink (a photo or a page of text
turns into a canvas that is mostly "ink" after binarisation).

The limits come from the development writers' images, embedded *out of sample* (each writer by the
cross-fitted network and whitening that never saw them, as the SVM's training pairs are), so a new
customer's signature is judged against scores of signatures the network had not seen either: both
limits get the same per-score refusal rate, the largest whose union stays within ``1 - acceptance``
(:func:`inference.guard.joint_thresholds`). The check is then measured through the app's own
Verifier on the test writers' images and on images that are not signatures (ImageNet photos, skin
photos, seal renders, synthetic documents): :func:`measure`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

DEFAULT_SETS = (
    {"name": "imagenet", "path": "../shared/data/imagenet-samples/images",
     "description": "ImageNet sample photos (everyday objects and animals)"},
    {"name": "skin", "path": "../shared/data/skin-ham10000/images", "description": "HAM10000 skin-lesion photos"},
    {"name": "documents", "kind": "synthetic-documents", "description": "synthetic document scans"},
)


def development_scores(emb_dev: np.ndarray, masks_dev: np.ndarray) -> dict[str, np.ndarray]:
    """The two scores of the development images: ``emb_dev`` (N, d) out-of-sample embeddings,
    ``masks_dev`` (N, H, W) their canvas ink masks."""
    emb = np.asarray(emb_dev, np.float64)
    return {"embedding_norm2": np.sum(emb * emb, axis=1),
            "ink_fraction": np.asarray(masks_dev, bool).reshape(len(masks_dev), -1).mean(axis=1)}


def fit_limits(dev: dict[str, np.ndarray], acceptance: float) -> dict:
    """The manifest's ``verify.ood`` block: limits with at most ``1 - acceptance`` of the
    development images refused by either score."""
    from inference.guard import joint_thresholds

    if not 0.5 <= acceptance < 1.0:
        raise ValueError(f"acceptance must be in [0.5, 1), not {acceptance}")
    limits, rate, union = joint_thresholds(dev, 1.0 - acceptance)
    return {"limits": {k: round(float(v), 6) for k, v in limits.items()}, "acceptance": float(acceptance),
            "per_score_rate": round(float(rate), 6), "development_refusal": round(float(union), 6),
            "n_development": int(len(next(iter(dev.values()))))}


def _scores_of(verifier, sources: Sequence) -> tuple[list[dict], int]:
    """Domain scores of each image through the app's Verifier; images it cannot read or that have no
    ink at all are counted apart (they never reach a verdict either)."""
    from inference.errors import TilikError

    out, unreadable = [], 0
    for s in sources:
        try:
            out.append(verifier.domain_scores_of(s))
        except TilikError:
            unreadable += 1
    return out, unreadable


def _refused(rows: list[dict], limits: dict[str, float]) -> dict:
    by = {k: float(np.mean([r[k] > v for r in rows])) if rows else 0.0 for k, v in limits.items()}
    anyr = float(np.mean([any(r[k] > v for k, v in limits.items()) for r in rows])) if rows else 0.0
    return {"refused": round(anyr, 4), "refused_by": {k: round(v, 4) for k, v in by.items()}}


def measure(pack_dir: Path, test_sources: Sequence, ood_specs: Sequence[dict], *, limit: int, seed: int,
            log=print) -> dict:
    """Refusal rates of the written pack's domain check: on the test writers' images (which should
    pass) and on each out-of-domain set (which should not)."""
    from inference.registry import check_pack
    from inference.signature.verifier import Verifier
    from training.pipeline.ood import load_ood_sets

    v = Verifier(check_pack(Path(pack_dir)))
    limits = v.domain_limits
    rows, bad = _scores_of(v, test_sources)
    result = {"limits": dict(limits), "test_signatures": {"n": len(rows), **_refused(rows, limits)}, "sets": []}
    log(f"  domain check: test signatures refused {100 * result['test_signatures']['refused']:.1f}% of {len(rows)}")
    for s in load_ood_sets(list(ood_specs), limit, seed, log=log):
        rows, bad = _scores_of(v, s.items)
        r = {"name": s.name, "description": s.description, "n": len(rows) + bad, "no_ink": bad, **_refused(rows, limits)}
        # an image with no ink is refused too (NoInkError): it counts as refused
        r["refused"] = round((r["refused"] * len(rows) + bad) / max(1, len(rows) + bad), 4)
        result["sets"].append(r)
        log(f"  domain check: {s.name} refused {100 * r['refused']:.1f}% of {r['n']}")
    return result
