"""The LBP channel of the issue #23 study as ONNX ops, so a pack computes it without per-pack Python.

:func:`lbp_graph` builds, from the pack's own input tensor (NHWC, scaled to [−1, 1]: the canvas is
binary, ink −1, paper +1), exactly what :func:`training.signatures.handcrafted.lbp_histograms` and
:func:`training.signatures.v3_train.prep` compute in numpy, then the channel's whitening layer:

    ink b = (x < 0)                      canvas < 128, as the numpy study binarises it
    s = Conv(b, 2^i at neighbour i)      zero padding = paper outside the canvas
    code = 255 − b·(255 − s)             bit i set iff neighbour i ≥ centre (binary: not paper-next-to-ink)
    bin = Gather(uniform table, code)    −1 for the flat code 255 (never matches a bin)
    histogram per 2×4 cell           ScatterElements(add) of one per pixel at (image, cell, bin)
    lbp@2x4, lbp@1x1 = mean of its cells → Sqrt, L2 each, concat / √2
    z = (h − mean) @ matrix

:func:`add_channel` splices it into a pack's ``model.onnx``: the ``embedding`` output becomes
``[√w·e, √(1−w)·‖e‖·z/‖z‖]`` with ``e`` the shipped (whitened) embedding. Its unit vector is the
study's ``[√w·u_cnn, √(1−w)·u_lbp]``, so the app's cosine is ``w·cos_cnn + (1−w)·cos_lbp``, and its
squared norm is ``‖e‖²``: the domain check's embedding norm keeps its meaning and its limit.
"""

from __future__ import annotations

import numpy as np

from training.signatures.handcrafted import _NEIGHBOURS, LBP_BINS, LBP_TABLE

PREFIX = "lbp_channel/"


def _neighbour_kernel() -> np.ndarray:
    k = np.zeros((1, 1, 3, 3), np.float32)
    for i, (dy, dx) in enumerate(_NEIGHBOURS):
        k[0, 0, 1 + dy, 1 + dx] = float(1 << i)
    return k


def lbp_nodes(input_name: str, size: tuple[int, int], mean: np.ndarray, matrix: np.ndarray,
              grids=((1, 1), (2, 4))):
    """(nodes, initializers, output name) computing the whitened channel z (N, k) from ``input_name``."""
    from onnx import TensorProto, helper, numpy_helper

    h, w = size
    p = PREFIX
    R, C = max(g[0] for g in grids), max(g[1] for g in grids)      # the finest grid; the others sum its cells
    if h % R or w % C or any(R % r or C % c for r, c in grids):
        raise ValueError(f"grids {grids} do not nest on a {h}×{w} canvas")
    B = LBP_BINS + 1                                                 # + one dump bin for the flat code
    table = np.where(LBP_TABLE < 0, LBP_BINS, LBP_TABLE).astype(np.int64)
    i64 = lambda v, name: numpy_helper.from_array(np.array(v, np.int64), p + name)  # noqa: E731
    f32 = lambda v, name: numpy_helper.from_array(np.array(v, np.float32), p + name)  # noqa: E731
    inits = [
        i64([0], "c0"), i64([1], "c1"), i64([3], "axis3"), i64(0, "s0"), i64(1, "s1"), i64(h, "sh"), i64(w, "sw"),
        i64(h // R, "cellh"), i64(w // C, "cellw"), i64(C * B, "rowstride"), i64(B, "binstride"),
        i64(R * C * B, "perimage"), i64([-1, 1, 1, 1], "bshape"), i64([-1], "flatshape"),
        i64([-1, R * C, B], "cellbins"), i64([0], "b0"), i64([LBP_BINS], "b58"), i64([2], "axis2"),
        f32(0.0, "zero"), f32(255.0, "v255"), f32(1e-12, "eps"), f32(1.0 / ((h // R) * (w // C)), "cellarea"),
        f32(1.0 / np.sqrt(len(grids)), "blocks"),
        numpy_helper.from_array(_neighbour_kernel(), p + "neighbours"),
        numpy_helper.from_array(table, p + "table"),
        numpy_helper.from_array(np.asarray(mean, np.float32), p + "mean"),
        numpy_helper.from_array(np.asarray(matrix, np.float32), p + "matrix"),
    ]
    n = [
        helper.make_node("Slice", [input_name, p + "c0", p + "c1", p + "axis3"], [p + "x0"]),
        helper.make_node("Transpose", [p + "x0"], [p + "x0t"], perm=[0, 3, 1, 2]),
        helper.make_node("Less", [p + "x0t", p + "zero"], [p + "inkb"]),
        helper.make_node("Cast", [p + "inkb"], [p + "ink"], to=TensorProto.FLOAT),
        helper.make_node("Conv", [p + "ink", p + "neighbours"], [p + "s"], pads=[1, 1, 1, 1]),
        helper.make_node("Sub", [p + "v255", p + "s"], [p + "d"]),
        helper.make_node("Mul", [p + "ink", p + "d"], [p + "bd"]),
        helper.make_node("Sub", [p + "v255", p + "bd"], [p + "codef"]),
        helper.make_node("Cast", [p + "codef"], [p + "code"], to=TensorProto.INT64),
        helper.make_node("Gather", [p + "table", p + "code"], [p + "bin"], axis=0),       # (N, 1, H, W)
        # histogram by scatter-add (one update per pixel, not a 58-channel one-hot): index =
        # image·R·C·B + cell·B + bin, cell = (y // cell height)·C + x // cell width
        helper.make_node("Range", [p + "s0", p + "sh", p + "s1"], [p + "ys"]),
        helper.make_node("Div", [p + "ys", p + "cellh"], [p + "yc"]),
        helper.make_node("Mul", [p + "yc", p + "rowstride"], [p + "yo"]),
        helper.make_node("Unsqueeze", [p + "yo", p + "c1"], [p + "yo2"]),                # (H, 1)
        helper.make_node("Range", [p + "s0", p + "sw", p + "s1"], [p + "xs"]),
        helper.make_node("Div", [p + "xs", p + "cellw"], [p + "xc"]),
        helper.make_node("Mul", [p + "xc", p + "binstride"], [p + "xo"]),                # (W,)
        helper.make_node("Add", [p + "yo2", p + "xo"], [p + "cellbase"]),                # (H, W)
        helper.make_node("Shape", [p + "bin"], [p + "binshape"]),
        helper.make_node("Gather", [p + "binshape", p + "s0"], [p + "nimg"], axis=0),    # scalar N
        helper.make_node("Range", [p + "s0", p + "nimg", p + "s1"], [p + "imgs"]),
        helper.make_node("Mul", [p + "imgs", p + "perimage"], [p + "imgo"]),
        helper.make_node("Reshape", [p + "imgo", p + "bshape"], [p + "imgo4"]),          # (N, 1, 1, 1)
        helper.make_node("Add", [p + "bin", p + "cellbase"], [p + "idx0"]),
        helper.make_node("Add", [p + "idx0", p + "imgo4"], [p + "idx4"]),
        helper.make_node("Reshape", [p + "idx4", p + "flatshape"], [p + "idx"]),
        helper.make_node("Shape", [p + "idx"], [p + "idxshape"]),
        helper.make_node("ConstantOfShape", [p + "idxshape"], [p + "ones"],
                         value=helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])),
        helper.make_node("Mul", [p + "nimg", p + "perimage"], [p + "total"]),
        helper.make_node("Unsqueeze", [p + "total", p + "c0"], [p + "total1"]),
        helper.make_node("ConstantOfShape", [p + "total1"], [p + "zeros"],
                         value=helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])),
        helper.make_node("ScatterElements", [p + "zeros", p + "idx", p + "ones"], [p + "counts"], axis=0,
                         reduction="add"),
        helper.make_node("Reshape", [p + "counts", p + "cellbins"], [p + "cb"]),            # (N, R·C, B)
        helper.make_node("Slice", [p + "cb", p + "b0", p + "b58", p + "axis2"], [p + "cb58"]),  # drop the dump bin
        helper.make_node("Transpose", [p + "cb58"], [p + "bc"], perm=[0, 2, 1]),             # (N, 58, R·C)
        helper.make_node("Mul", [p + "bc", p + "cellarea"], [p + "frac"]),
    ]
    blocks = []
    for r, c in grids:
        t = f"{p}g{r}x{c}"
        inits.append(i64([-1, LBP_BINS, r, R // r, c, C // c], f"g{r}x{c}_shape"))
        n.append(helper.make_node("Reshape", [p + "frac", p + f"g{r}x{c}_shape"], [t + "_cells"]))
        n.append(helper.make_node("ReduceMean", [t + "_cells"], [t + "_pool"], axes=[3, 5], keepdims=0))
        n.append(helper.make_node("Flatten", [t + "_pool"], [t + "_flat"], axis=1))
        n.append(helper.make_node("Sqrt", [t + "_flat"], [t + "_sqrt"]))
        n.append(helper.make_node("ReduceL2", [t + "_sqrt"], [t + "_norm"], axes=[1], keepdims=1))
        n.append(helper.make_node("Max", [t + "_norm", p + "eps"], [t + "_normc"]))
        n.append(helper.make_node("Div", [t + "_sqrt", t + "_normc"], [t + "_unit"]))
        blocks.append(t + "_unit")
    n += [
        helper.make_node("Concat", blocks, [p + "cat"], axis=1),
        helper.make_node("Mul", [p + "cat", p + "blocks"], [p + "h"]),
        # transform(): L2 again (a no-op up to rounding: the blocks are unit and scaled by 1/√blocks)
        helper.make_node("ReduceL2", [p + "h"], [p + "hn"], axes=[1], keepdims=1),
        helper.make_node("Max", [p + "hn", p + "eps"], [p + "hnc"]),
        helper.make_node("Div", [p + "h", p + "hnc"], [p + "hu"]),
        helper.make_node("Sub", [p + "hu", p + "mean"], [p + "hc"]),
        helper.make_node("MatMul", [p + "hc", p + "matrix"], [p + "z"]),
    ]
    return n, inits, p + "z"


def lbp_model(size: tuple[int, int], mean: np.ndarray, matrix: np.ndarray):
    """A stand-alone model: ``input`` (N, H, W, 3) → ``z`` (N, k) (for the parity test and the timing)."""
    from onnx import TensorProto, helper

    nodes, inits, z = lbp_nodes("input", size, mean, matrix)
    nodes.append(helper.make_node("Identity", [z], ["z"]))
    g = helper.make_graph(nodes, "lbp_channel", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                              ["batch", size[0], size[1], 3])],
                          [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", matrix.shape[1]])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def add_channel(model, mean: np.ndarray, matrix: np.ndarray, weight: float, size: tuple[int, int],
                output: str = "embedding"):
    """The pack's model with the channel fused into its ``output`` (see the module docstring)."""
    from onnx import helper, numpy_helper

    g = model.graph
    producer = next(node for node in g.node if output in node.output)
    old = PREFIX + "embedding_cnn"
    producer.output[list(producer.output).index(output)] = old
    nodes, inits, z = lbp_nodes(g.input[0].name, size, mean, matrix)
    p = PREFIX
    inits += [numpy_helper.from_array(np.array(np.sqrt(weight), np.float32), p + "wc"),
              numpy_helper.from_array(np.array(np.sqrt(1.0 - weight), np.float32), p + "wl")]
    nodes += [
        helper.make_node("ReduceL2", [old], [p + "en"], axes=[1], keepdims=1),
        helper.make_node("ReduceL2", [z], [p + "zn"], axes=[1], keepdims=1),
        helper.make_node("Max", [p + "zn", p + "eps"], [p + "znc"]),
        helper.make_node("Div", [z, p + "znc"], [p + "zu"]),
        helper.make_node("Mul", [p + "zu", p + "en"], [p + "zs"]),
        helper.make_node("Mul", [p + "zs", p + "wl"], [p + "zw"]),
        helper.make_node("Mul", [old, p + "wc"], [p + "ew"]),
        helper.make_node("Concat", [p + "ew", p + "zw"], [output], axis=1),
    ]
    g.node.extend(nodes)
    g.initializer.extend(inits)
    for o in g.output:
        if o.name == output:
            dims = o.type.tensor_type.shape.dim
            if len(dims) == 2 and dims[1].HasField("dim_value"):
                dims[1].dim_value = dims[1].dim_value + matrix.shape[1]
    return model


__all__ = ["add_channel", "lbp_model", "lbp_nodes", "main"]


def main(argv=None) -> int:
    """Splice the channel (its whitening fitted on all development writers) into the shipped
    model.onnx under runs/ (not the pack) and time both graphs on one thread: rule (c)."""
    import argparse
    import json
    import os
    import time
    from pathlib import Path

    import onnx
    import onnxruntime as ort

    from training.signatures.corpora import dev_writers, load_corpora, normalize_all
    from training.signatures.v3_features import BENGALI, CEDAR, OPTIONS
    from training.signatures.v3_train import fit_layers, prep
    from training.signatures.v32_channel import CHANNELS, handcrafted_cache

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/sig3")
    ap.add_argument("--pack", default="models/signature-verify")
    ap.add_argument("--pca", type=int, default=64)
    ap.add_argument("--weight", type=float, default=0.5)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args(argv)
    out = Path(args.out)
    items = load_corpora(CEDAR, BENGALI)
    wr = np.array([it.writer for it in items])
    gen = np.array([it.genuine for it in items])
    dev = np.isin(wr, dev_writers())
    cv = normalize_all(items, OPTIONS, out)
    feats = handcrafted_cache(out, cv.key, dev, cv.canvas)
    h = np.nan_to_num(prep(feats, CHANNELS["lbp"]))
    layer = fit_layers(h, wr, gen, dev, (0,), args.pca)[0]
    model = add_channel(onnx.load(str(Path(args.pack) / "model.onnx")), layer.mean, layer.matrix, args.weight,
                        cv.canvas.shape[1:])
    onnx.checker.check_model(model)
    path = out / f"model-lbp-w{args.weight}-pca{args.pca}.onnx"
    onnx.save(model, str(path))
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    x = np.repeat(((cv.canvas[np.flatnonzero(dev)[:5]].astype(np.float32) / 255 - 0.5) / 0.5)[..., None], 3, axis=3)
    res = {"pca": args.pca, "weight": args.weight, "model_bytes": {}, "ms_per_image": {}}
    for name, p in (("shipped", Path(args.pack) / "model.onnx"), ("with_channel", path)):
        s = ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])
        s.run(None, {"input": x[:1]})
        times = []
        for _ in range(args.repeats):
            for i in range(len(x)):
                t0 = time.process_time()
                s.run(None, {"input": x[i:i + 1]})
                times.append(time.process_time() - t0)
        res["ms_per_image"][name] = {"median_cpu": 1000 * float(np.median(times)), "mean_cpu": 1000 * float(np.mean(times))}
        res["model_bytes"][name] = p.stat().st_size
    emb = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"]).run(["embedding"], {"input": x})[0]
    z = layer(h[np.flatnonzero(dev)[:5]])
    zu = z / np.linalg.norm(z, axis=1, keepdims=True)
    got = emb[:, -args.pca:] / np.linalg.norm(emb[:, -args.pca:], axis=1, keepdims=True)
    res["parity_min_cosine_channel"] = float(np.min(np.sum(zu * got, axis=1)))
    res["added_ms"] = res["ms_per_image"]["with_channel"]["median_cpu"] - res["ms_per_image"]["shipped"]["median_cpu"]
    res["load_average"] = list(os.getloadavg())
    (out / f"channel-onnx-cost-pca{args.pca}.json").write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
