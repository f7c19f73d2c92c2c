"""The test side scored as the class mixes a pack meets: natural and class-capped.

A skin pack's test side is carved from the whole collection, so it has the natural class mix
(two thirds naevi). Metrics on it say what a clinic sees day to day; a class-capped subset (one
image per lesion, naevi capped at a share, as the earlier 2,553-image subset was) says how the pack
does on the rarer diagnoses without the naevi swamping the numbers. Both come from one run of the
app's inspector over the test images: nothing is chosen on them.

Also here: the operating-point table (alarm thresholds chosen on validation at several
sensitivities, scored on each mix), and a calibration summary (expected calibration error and a
reliability diagram of the alarm probability).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

CAPPED_DEFAULT = {"column": None, "cap": {}, "one_per_group": True}


def capped_indices(values: Sequence[str], groups: Sequence[str | None], ids: Sequence[str], *,
                   cap: dict[str, float], one_per_group: bool = True, seed: int = 0) -> np.ndarray:
    """Indices of a class-capped subset: with ``one_per_group`` the first image (by id) of each group,
    then each class named in ``cap`` cut (whole groups, seeded) to at most that share of the subset."""
    values = [str(v) for v in values]
    n = len(values)
    keep = np.arange(n)
    if one_per_group:
        first: dict[str, int] = {}
        for i in sorted(range(n), key=lambda k: str(ids[k])):
            g = groups[i] if groups[i] is not None else f"__item{i}"
            first.setdefault(g, i)
        keep = np.array(sorted(first.values()), int)
    rng = np.random.default_rng(seed)
    for cls, share in sorted(cap.items()):
        share = float(share)
        if not 0 < share < 1:
            raise ValueError(f"the cap of {cls} must be a share between 0 and 1, got {share}")
        members = [i for i in keep if values[i] == cls]
        others = len(keep) - len(members)
        allowed = int(np.floor(share / (1 - share) * others))
        if len(members) > allowed:
            chosen = set(rng.choice(np.array(members), size=allowed, replace=False).tolist())
            keep = np.array([i for i in keep if values[i] != cls or i in chosen], int)
    return keep


def operating_point(is_alarm: np.ndarray, p_alarm: np.ndarray, threshold: float,
                    review: np.ndarray | None = None, refused: np.ndarray | None = None) -> dict:
    """Sensitivity, specificity, PPV, NPV and the alarm rate at ``threshold`` (alarm when
    ``p_alarm >= threshold``, whether or not the app refused the image), and the review rate when
    the app's review flags are given.

    With the app's refusal flags (``refused``: out of domain, blank, noise), also what the app
    shows for the alarming classes' images: ``app``: alarmed (probability at or above the threshold
    and not refused: the app raises the alarm), refused (no verdict at all, whatever the
    probability; how many of those were at or above the threshold), and passed as calm (below the
    threshold and not refused: a calm verdict, with or without a review flag); and the refusal rate
    by true class. A refused image raises no alarm in the app, so the probability-based
    sensitivity counts as alarmed images the app never alarmed on."""
    is_alarm = np.asarray(is_alarm, bool)
    flagged = np.asarray(p_alarm) >= threshold
    tp = int(np.sum(flagged & is_alarm))
    fn = int(np.sum(~flagged & is_alarm))
    fp = int(np.sum(flagged & ~is_alarm))
    tn = int(np.sum(~flagged & ~is_alarm))

    def ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    out = {"n": int(len(is_alarm)), "prevalence": ratio(tp + fn, len(is_alarm)), "threshold": float(threshold),
           "sensitivity": ratio(tp, tp + fn), "specificity": ratio(tn, tn + fp), "ppv": ratio(tp, tp + fp),
           "npv": ratio(tn, tn + fn), "alarm_rate": ratio(tp + fp, len(is_alarm)),
           "tp": tp, "fn": fn, "fp": fp, "tn": tn}
    if review is not None:
        out["review_rate"] = float(np.mean(review)) if len(review) else None
    if refused is not None:
        refused = np.asarray(refused, bool)
        pos = int(is_alarm.sum())
        calm = ~flagged & ~refused & is_alarm
        app = {"alarmed": int(np.sum(flagged & ~refused & is_alarm)), "refused": int(np.sum(refused & is_alarm)),
               "refused_above_threshold": int(np.sum(refused & flagged & is_alarm)), "passed_calm": int(calm.sum()),
               "refused_other": int(np.sum(refused & ~is_alarm)), "other": int(np.sum(~is_alarm))}
        if review is not None:
            app["passed_calm_review"] = int(np.sum(calm & np.asarray(review, bool)))
        app.update({"sensitivity": ratio(app["alarmed"], pos), "refused_rate": ratio(app["refused"], pos),
                    "passed_calm_rate": ratio(app["passed_calm"], pos),
                    "refused_rate_other": ratio(app["refused_other"], app["other"])})
        out["app"] = app
    return out


def calibration(is_positive: np.ndarray, p: np.ndarray, bins: int = 10) -> dict:
    """Expected calibration error of ``p`` as the probability of ``is_positive`` over equal-width
    bins, with each bin's mean predicted probability, observed rate and count."""
    is_positive = np.asarray(is_positive, float)
    p = np.asarray(p, float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows = []
    ece = 0.0
    for b in range(bins):
        m = which == b
        if not m.any():
            continue
        mean_p, rate = float(p[m].mean()), float(is_positive[m].mean())
        ece += m.sum() / len(p) * abs(mean_p - rate)
        rows.append({"bin": [float(edges[b]), float(edges[b + 1])], "mean_p": mean_p, "observed": rate,
                     "n": int(m.sum())})
    return {"ece": float(ece), "bins": rows}


def reliability_plot(curves: dict[str, dict], path: Path, title: str) -> Path:
    """A reliability diagram: each mix's observed rate against its mean predicted probability."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=110)
    ax.plot([0, 1], [0, 1], color="#999999", lw=1, ls="--", label="perfectly calibrated")
    for name, cal in curves.items():
        xs = [r["mean_p"] for r in cal["bins"]]
        ys = [r["observed"] for r in cal["bins"]]
        ax.plot(xs, ys, marker="o", label=f"{name} (ECE {cal['ece']:.3f})")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def mix_metrics(y: np.ndarray, res: dict, idx: np.ndarray, names: list[str], alarming_idx: list[int],
                threshold: float | None) -> dict:
    """Metrics of the app's answers (``res`` from the export's inspector run) on the images ``idx``."""
    from training.pipeline.evaluate import classification_metrics

    y = np.asarray(y)[idx]
    probs = res["probs"][idx]
    out = {"n": int(len(idx)), "per_class_support": {n: int(np.sum(y == i)) for i, n in enumerate(names)},
           "app": classification_metrics(y, res["labels"][idx], probs, names),
           "most_probable": classification_metrics(y, probs.argmax(1), probs, names),
           "review_rate": float(res["review"][idx].mean()) if len(idx) else None,
           "refused_rate": float(res["ood"][idx].mean()) if len(idx) else None}
    if alarming_idx and threshold is not None:
        is_alarm = np.isin(y, alarming_idx)
        p_alarm = probs[:, alarming_idx].sum(1)
        out["alarm"] = operating_point(is_alarm, p_alarm, threshold, res["review"][idx],
                                       res["ood"][idx] if "ood" in res else None)
        out["calibration"] = calibration(is_alarm, p_alarm)
    else:
        conf = probs.max(1)
        out["calibration"] = calibration(probs.argmax(1) == y, conf)
    return out


def operating_table(val_p_alarm: np.ndarray, val_is_alarm: np.ndarray, mixes: dict[str, tuple[np.ndarray, np.ndarray]],
                    sensitivities: Sequence[float] = (0.85, 0.90, 0.95), max_threshold: float = 1.0) -> list[dict]:
    """One row per target sensitivity: the threshold chosen on validation and what it gives on each
    mix (``{name: (is_alarm, p_alarm)}``, or ``(is_alarm, p_alarm, refused)`` with the app's refusal
    flags, which add what the app shows: see :func:`operating_point`)."""
    from training.pipeline.thresholds import alarm_threshold

    rows = []
    for target in sensitivities:
        thr = alarm_threshold(val_p_alarm, val_is_alarm, float(target), max_threshold)
        row = {"target_sensitivity": float(target), "threshold": float(thr),
               "validation": operating_point(val_is_alarm, val_p_alarm, thr)}
        for name, (is_alarm, p_alarm, *refused) in mixes.items():
            row[name] = operating_point(is_alarm, p_alarm, thr, refused=refused[0] if refused else None)
        rows.append(row)
    return rows


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def card_sections(report: dict, names: list[str], labels: dict[str, str]) -> list[dict]:
    """Card sections ({title, text}) for the mixes, the operating-point table and larger inputs."""
    sections = []
    mixes = report.get("mixes") or {}
    if mixes:
        lines = ["Scored once, at the end, by the app's inspector (the pack's ONNX file and decision rule) on "
                 "lesions that no part of training or any choice saw. " + report.get("description", "")
                 + (" The alarm rows count by probability (P ≥ threshold), refused images included, except the "
                    "rows 'in the app', 'refused' and 'passed as calm': a refused image gets no verdict and raises "
                    "no alarm in the app." if any("app" in m.get("alarm", {}) for m in mixes.values()) else ""), "",
                 "| | " + " | ".join(mixes) + " |", "|---|" + "---|" * len(mixes)]

        def row(label, fn):
            lines.append(f"| {label} | " + " | ".join(fn(m) for m in mixes.values()) + " |")

        row("images", lambda m: str(m["n"]))
        row("ROC-AUC", lambda m: f"{m['most_probable']['roc_auc']:.3f}" if m["most_probable"].get("roc_auc") else "n/a")
        row("accuracy (app decision)", lambda m: f"{m['app']['accuracy']:.3f}")
        row("balanced accuracy (app decision)", lambda m: f"{m['app']['balanced_accuracy']:.3f}")
        row("accuracy (most probable class)", lambda m: f"{m['most_probable']['accuracy']:.3f}")
        row("balanced accuracy (most probable)", lambda m: f"{m['most_probable']['balanced_accuracy']:.3f}")
        row("macro-F1 (most probable)", lambda m: f"{m['most_probable']['macro']['f1']:.3f}")
        if len(names) > 2:
            for k in ("2", "3"):
                row(f"top-{k}", lambda m, k=k: f"{(m['most_probable'].get('top_k') or {}).get(k, float('nan')):.3f}")
        if any("alarm" in m for m in mixes.values()):
            row("alarm sensitivity by probability (alarming-class images with P ≥ threshold, refused ones included)",
                lambda m: _pct(m.get("alarm", {}).get("sensitivity")))
            if any("app" in m.get("alarm", {}) for m in mixes.values()):
                # What the app shows for the alarming classes' images: a refused image raises no alarm.
                def app(m, key, count=None):
                    a = m.get("alarm", {}).get("app")
                    if not a:
                        return "n/a"
                    n = a["alarmed"] + a["refused"] + a["passed_calm"]
                    return f"{_pct(a[key])} ({a[count]}/{n})" if count else _pct(a[key])
                row("alarm sensitivity in the app (P ≥ threshold and not refused: the app alarms)",
                    lambda m: app(m, "sensitivity", "alarmed"))
                row("alarming-class images refused (no verdict, whatever P)", lambda m: app(m, "refused_rate", "refused"))
                row("alarming-class images passed as calm (P < threshold, not refused)",
                    lambda m: app(m, "passed_calm_rate", "passed_calm"))
                row("other images refused", lambda m: "n/a" if not m.get("alarm", {}).get("app") else
                    f"{_pct(m['alarm']['app']['refused_rate_other'])} ({m['alarm']['app']['refused_other']}"
                    f"/{m['alarm']['app']['other']})")
            row("alarm specificity", lambda m: _pct(m.get("alarm", {}).get("specificity")))
            row("PPV", lambda m: _pct(m.get("alarm", {}).get("ppv")))
            row("NPV", lambda m: _pct(m.get("alarm", {}).get("npv")))
            row("alarm rate", lambda m: _pct(m.get("alarm", {}).get("alarm_rate")))
        row("review rate", lambda m: _pct(m.get("review_rate")))
        row("refused as out of domain", lambda m: _pct(m.get("refused_rate")))
        row("calibration error (ECE)", lambda m: f"{m['calibration']['ece']:.3f}")
        lines += ["", "Recall per class (most probable class):", "",
                  "| class | " + " | ".join(f"{k} recall (n)" for k in mixes) + " |", "|---|" + "---|" * len(mixes)]
        for n in names:
            cells = []
            for m in mixes.values():
                pc = m["most_probable"]["per_class"].get(n, {})
                cells.append(f"{pc.get('recall', 0):.3f} ({m['per_class_support'][n]})")
            lines.append(f"| {labels.get(n, n)} | " + " | ".join(cells) + " |")
        if report.get("calibration_plot"):
            lines += ["", f"![calibration]({report['calibration_plot']})"]
        sections.append({"title": "Test on the natural and the class-capped mix", "text": "\n".join(lines)})
    table = report.get("operating_table") or []
    if table:
        names_m = [k for k in table[0] if k not in ("target_sensitivity", "threshold", "validation")]
        lines = ["Alarm thresholds chosen on the validation side of the split (every image of the validation "
                 "lesions, in every rendition training used: the natural mix, plus any extra renditions of those "
                 "lesions) at three sensitivities; "
                 "the pack ships the 90% one. Sensitivity (by probability, refused photos included) / specificity / "
                 "PPV / NPV / share of photos alarmed"
                 + (" / sensitivity in the app (alarmed and not refused)" if "app" in table[0][names_m[0]] else "")
                 + ":", "",
                 "| target (validation) | threshold | " + " | ".join(names_m) + " |",
                 "|---|---|" + "---|" * len(names_m)]
        for r in table:
            cells = []
            for k in names_m:
                op = r[k]
                cells.append(" / ".join([_pct(op[x]) for x in ("sensitivity", "specificity", "ppv", "npv", "alarm_rate")]
                                        + ([_pct(op["app"]["sensitivity"])] if "app" in op else [])))
            lines.append(f"| {_pct(r['target_sensitivity'])} | {r['threshold']:.4f} | " + " | ".join(cells) + " |")
        sections.append({"title": "Operating points", "text": "\n".join(lines)})
    larger = report.get("larger_inputs")
    if larger:
        lines = [f"The {larger['n']} natural-mix test photos were enlarged to {larger['width']}x{larger['height']} "
                 f"(Lanczos, saved as JPEG quality {larger['quality']}) and run through the app's own decoding "
                 "(reduced JPEG decode, then the pack's resize), against the same photos as they are:", "",
                 "| | as stored | enlarged |", "|---|---|---|"]
        for key, label in (("roc_auc", "ROC-AUC"), ("accuracy", "accuracy (app decision)"),
                           ("balanced_accuracy", "balanced accuracy (most probable)"),
                           ("same_decision", "same decision as stored")):
            a, b = larger["stored"].get(key), larger["enlarged"].get(key)
            lines.append(f"| {label} | {'' if a is None else f'{a:.3f}'} | {'' if b is None else f'{b:.3f}'} |")
        lines += ["", larger.get("verdict", "")]
        sections.append({"title": "Photos larger than the training images", "text": "\n".join(lines)})
    return sections
