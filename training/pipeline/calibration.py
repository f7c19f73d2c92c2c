"""Temperature scaling of a pack's probabilities, fitted on validation data, applied inside its ONNX graph.

One scalar ``T`` divides the logits before the softmax: ``probs = softmax(logits / T)``. It is fitted
by minimising the negative log-likelihood of the *validation* labels (never the test side), and its
benefit is estimated by lesion-grouped cross-validation on the validation images (``T`` fitted on
four folds, the fifth scored). ``T > 0`` changes no argmax and no order of the classes within a
photo, so the most probable class, top-k and the CAM (drawn for the argmax of the raw logits) stay
exactly as they were; with two classes it changes no ranking across photos either (ROC-AUC stays).
With more classes one class's probability, or a sum of several, depends on the other logits too, so
its ranking across photos (a one-vs-rest ROC-AUC, the alarm probability) can move a little. What
moves are the probabilities a person reads, and with them every threshold on a probability (alarm
threshold, review band, minimum confidence), which are chosen again on validation afterwards.

:func:`apply_temperature_onnx` edits an exported graph (``probs <- Softmax(logits)`` becomes
``probs <- Softmax(logits / T)``; the ``logits`` output stays the raw one), so a pack whose training
run is gone can be calibrated, and an export with ``decision.calibrate: temperature`` uses the same
edit. ``T`` is also written to the model's metadata (:data:`TEMPERATURE_KEY`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

TEMPERATURE_KEY = "tilik.probs_temperature"
_CONST = "tilik_probs_temperature"
_DIV = "tilik_probs_temperature_div"
T_BOUNDS = (0.05, 20.0)


class CalibrationError(ValueError):
    """The graph or the data cannot be calibrated as asked."""


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, np.float64) / float(temperature)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, y: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the labels ``y`` under ``softmax(logits / T)``."""
    z = np.asarray(logits, np.float64) / float(temperature)
    m = z.max(axis=1, keepdims=True)
    log_norm = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
    return float(np.mean(log_norm - z[np.arange(len(z)), np.asarray(y, int)]))


def fit_temperature(logits: np.ndarray, y: np.ndarray, bounds: tuple[float, float] = T_BOUNDS) -> float:
    """The ``T`` in ``bounds`` that minimises :func:`nll` (a bounded search on ``log T``)."""
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, np.float64)
    y = np.asarray(y, int)
    if len(y) == 0 or logits.ndim != 2 or len(logits) != len(y):
        raise CalibrationError(f"fit_temperature needs (n, k) logits and n labels, got {logits.shape} and {y.shape}")
    res = minimize_scalar(lambda lt: nll(logits, y, float(np.exp(lt))), bounds=tuple(np.log(bounds)),
                          method="bounded", options={"xatol": 1e-5})
    return float(np.exp(res.x))


def ece(is_positive: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-width bins (as :func:`training.pipeline.mixes.calibration`)."""
    from training.pipeline.mixes import calibration

    return calibration(is_positive, p, bins)["ece"]


def calibration_errors(probs: np.ndarray, y: np.ndarray, alarming_idx: Sequence[int]) -> dict:
    """ECE of the top-1 confidence (is the most probable class right?) and, with alarming classes,
    of their summed probability (is the lesion alarming?): the one the card's mixes report."""
    probs = np.asarray(probs, np.float64)
    y = np.asarray(y, int)
    out = {"top1": ece(probs.argmax(1) == y, probs.max(1))}
    if alarming_idx:
        out["alarm"] = ece(np.isin(y, list(alarming_idx)), probs[:, list(alarming_idx)].sum(1))
    return out


def grouped_folds(y: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``StratifiedGroupKFold`` splits (no group on both sides of a fold; checked)."""
    from sklearn.model_selection import StratifiedGroupKFold

    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    out = list(cv.split(np.zeros(len(y)), y, groups))
    for tr, va in out:
        if set(np.asarray(groups)[tr].tolist()) & set(np.asarray(groups)[va].tolist()):
            raise CalibrationError("a group on both sides of a fold")
    return out


def cv_temperature(logits: np.ndarray, y: np.ndarray, groups: np.ndarray, alarming_idx: Sequence[int], *,
                   folds: int = 5, seed: int = 0) -> dict:
    """Grouped cross-validation of temperature scaling: per fold, ``T`` fitted on the other folds and
    the held-out fold's NLL and ECE (top-1, alarm) without and with it; mean and spread."""
    logits = np.asarray(logits, np.float64)
    y = np.asarray(y, int)
    rows = []
    for tr, va in grouped_folds(y, np.asarray(groups), folds, seed):
        t = fit_temperature(logits[tr], y[tr])
        before = calibration_errors(softmax(logits[va]), y[va], alarming_idx)
        after = calibration_errors(softmax(logits[va], t), y[va], alarming_idx)
        rows.append({"temperature": t, "n": int(len(va)), "nll_before": nll(logits[va], y[va]),
                     "nll_after": nll(logits[va], y[va], t),
                     **{f"ece_{k}_before": v for k, v in before.items()},
                     **{f"ece_{k}_after": v for k, v in after.items()}})
    keys = [k for k in rows[0] if k != "n"]
    summary = {k: {"mean": float(np.mean([r[k] for r in rows])), "sd": float(np.std([r[k] for r in rows]))}
               for k in keys}
    return {"folds": folds, "n": int(len(y)), "groups": int(len(set(np.asarray(groups).tolist()))),
            "per_fold": rows, "summary": summary}


# ------------------------------------------------------------------------------------------------
# the ONNX graph


def _probs_softmax(graph, probs_name: str):
    producers = {o: n for n in graph.node for o in n.output}
    node = producers.get(probs_name)
    if node is None or node.op_type != "Softmax":
        raise CalibrationError(f"the graph's {probs_name!r} output is not made by a Softmax "
                               f"({'nothing' if node is None else node.op_type}): cannot put a temperature before it")
    return node, producers


def graph_temperature(model) -> float:
    """The temperature in a graph (1.0 when it has none)."""
    for p in model.metadata_props:
        if p.key == TEMPERATURE_KEY:
            return float(p.value)
    return 1.0


def apply_temperature_onnx(model, temperature: float, probs_name: str = "probs"):
    """``model`` (an ``onnx.ModelProto``, edited in place and returned) with ``probs = softmax(x / T)``
    where it had ``softmax(x)``. Setting it again replaces the earlier ``T`` (it never compounds)."""
    import onnx
    from onnx import helper, numpy_helper

    t = float(temperature)
    if not np.isfinite(t) or t <= 0:
        raise CalibrationError(f"the temperature must be a positive number, got {temperature!r}")
    graph = model.graph
    node, producers = _probs_softmax(graph, probs_name)
    value = numpy_helper.from_array(np.array(t, np.float32), name=_CONST)
    existing = [i for i, init in enumerate(graph.initializer) if init.name == _CONST]
    if existing:
        graph.initializer[existing[0]].CopyFrom(value)
    else:
        div_out = f"{_DIV}:0"
        graph.initializer.append(value)
        div = helper.make_node("Div", [node.input[0], _CONST], [div_out], name=_DIV)
        node.input[0] = div_out
        # Keep the node list topologically sorted: the Div goes just before the Softmax.
        nodes = list(graph.node)
        at = nodes.index(node)
        nodes.insert(at, div)
        del graph.node[:]
        graph.node.extend(nodes)
    props = [p for p in model.metadata_props if p.key != TEMPERATURE_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(props)
    model.metadata_props.append(onnx.StringStringEntryProto(key=TEMPERATURE_KEY, value=repr(t)))
    onnx.checker.check_model(model)
    return model


def write_calibrated(src: Path, dst: Path, temperature: float) -> Path:
    """``src`` ONNX file with the temperature applied, written to ``dst`` (may be ``src``)."""
    import onnx

    model = onnx.load(str(src))
    apply_temperature_onnx(model, temperature)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst))
    return dst


# ------------------------------------------------------------------------------------------------
# the export stage (training.pipeline.export_stages.STAGES)


def calibration_stage(c):
    """Stage 4b (``decision.calibrate: temperature``): ``T`` fitted on the run's validation logits (NLL;
    lesion-grouped CV of its effect on validation for the card), put in the ONNX graph before the
    softmax, and the graph's probs checked against ``softmax(logits / T)``. Before any threshold."""
    if c.cfg["decision"].get("calibrate") != "temperature":
        return c
    from training.pipeline.export import PARITY_TOLERANCE, ExportError, onnx_outputs, preprocess_items

    logits, y_val = np.asarray(c.arrays["val_logits"], np.float64), c.y["val"]
    t = fit_temperature(logits, y_val)
    groups = np.array([s.group or s.id for s in c.split["val"]], dtype=object)
    cv = cv_temperature(logits, y_val, groups, c.alarming_idx, folds=5, seed=c.seed)
    write_calibrated(c.onnx_path, c.onnx_path, t)
    val = c.split["val"]
    idx = np.linspace(0, len(val) - 1, min(int(c.cfg["evaluation"]["parity_images"]), len(val))).astype(int)
    out = onnx_outputs(c.onnx_path, preprocess_items([val[i].path for i in idx], c.spec))
    err = float(np.max(np.abs(out["probs"] - softmax(out["logits"], t))))
    if err > PARITY_TOLERANCE:
        raise ExportError(f"probs after the temperature differ from softmax(logits / T) by {err:.2e}")
    c.par["probs_vs_softmax_logits_over_t"] = err
    c.calibration = {"method": "temperature", "temperature": t, "fitted_on": f"{len(y_val)} validation images",
                     "cv": cv["summary"], "folds": cv["folds"]}
    c.log(f"  temperature T = {t:.4f} in the graph (validation NLL); probs vs softmax(logits / T) {err:.1e}")
    return c
