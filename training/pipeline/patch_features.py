"""Expose a pack's backbone patch features as an extra ONNX output (for seal profiles, issue 25).

    python -m training.pipeline.patch_features --pack models/seal-integrity \\
        --tensor seal_integrity_export_1/block3b_add_1/Add:0 \\
        --tensor seal_integrity_export_1/block5c_add_1/Add:0 --version 1.2.1

Graph surgery only: no weight changes, so every existing output is bit-identical (the tool runs the
old and the new model on the pack's sample photos and refuses to write unless they are). Each named
tensor (an intermediate feature map, NCHW as tf2onnx writes them, or NHWC with ``--layout NHWC``)
is averaged over its 3×3 neighbourhood (PatchCore's local aggregation: a patch sees a little
context), brought to the smallest map's size by average pooling, and the maps are concatenated
along channels and transposed to N×H×W×C under the output name ``patch_features``. The manifest
gets ``outputs.patch_features``, the model's new SHA-256, the version given and a record of what
was done under ``training.patch_features``; nothing else in the pack changes, so any pack (not
only seals) can be given profiles this way.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

OUTPUT_NAME = "patch_features"


class SurgeryError(Exception):
    """The pack or the tensor names do not allow the surgery; the message says why."""


def _shapes(model) -> dict[str, list]:
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    out = {}
    for v in list(inferred.graph.value_info) + list(inferred.graph.output) + list(inferred.graph.input):
        out[v.name] = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                       for d in v.type.tensor_type.shape.dim]
    return out


def add_patch_output(model_bytes: bytes, tensors: Sequence[str], layout: str = "NCHW",
                     name: str = OUTPUT_NAME) -> tuple[bytes, dict]:
    """The model with output ``name`` (N×H×W×C float32) built from ``tensors``; and a description."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    if any(o.name == name for o in graph.output):
        raise SurgeryError(f"the model already has an output named '{name}'")
    shapes = _shapes(model)
    produced = {o for n in graph.node for o in n.output}
    maps = []
    for t in tensors:
        if t not in produced:
            raise SurgeryError(f"the model has no tensor named '{t}'")
        shape = shapes.get(t)
        if shape is None or len(shape) != 4:
            raise SurgeryError(f"tensor '{t}' is not a 4-D feature map (shape {shape})")
        c, h, w = (shape[1], shape[2], shape[3]) if layout == "NCHW" else (shape[3], shape[1], shape[2])
        if not all(isinstance(v, int) and v > 0 for v in (c, h, w)):
            raise SurgeryError(f"tensor '{t}' has no fixed channels/height/width (shape {shape})")
        maps.append((t, c, h, w))
    th, tw = min(m[2] for m in maps), min(m[3] for m in maps)
    nodes, pieces = [], []
    for i, (t, c, h, w) in enumerate(maps):
        if h % th or w % tw:
            raise SurgeryError(f"tensor '{t}' ({h}×{w}) is not a whole multiple of the smallest map ({th}×{tw})")
        cur = t
        if layout == "NHWC":
            nodes.append(helper.make_node("Transpose", [cur], [f"{name}/{i}/nchw"], perm=[0, 3, 1, 2]))
            cur = f"{name}/{i}/nchw"
        nodes.append(helper.make_node("AveragePool", [cur], [f"{name}/{i}/local"], kernel_shape=[3, 3],
                                      strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=0))
        cur = f"{name}/{i}/local"
        if (h, w) != (th, tw):
            nodes.append(helper.make_node("AveragePool", [cur], [f"{name}/{i}/down"],
                                          kernel_shape=[h // th, w // tw], strides=[h // th, w // tw]))
            cur = f"{name}/{i}/down"
        pieces.append(cur)
    if len(pieces) > 1:
        nodes.append(helper.make_node("Concat", pieces, [f"{name}/nchw"], axis=1))
        cur = f"{name}/nchw"
    nodes.append(helper.make_node("Transpose", [cur], [name], perm=[0, 2, 3, 1]))
    graph.node.extend(nodes)
    channels = sum(m[1] for m in maps)
    batch = shapes.get(graph.input[0].name, ["batch"])[0] or "batch"
    graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, th, tw, channels]))
    onnx.checker.check_model(model)
    info = {"output": name, "tensors": list(tensors), "layout_in": layout, "shape": [th, tw, channels],
            "aggregation": "3x3 average (stride 1) per map, average-pooled to the smallest map, concatenated"}
    return model.SerializeToString(), info


def _sample_batch(pack: Path, manifest) -> np.ndarray:
    """The pack's sample photos as model input (random pixels when it ships none): the parity check."""
    from inference.imageio import load_image
    from inference.preprocess import fit_to_input, to_tensor

    folder = manifest.raw.get("samples")
    files = []
    if folder:
        root = Path(folder) if Path(folder).is_absolute() else pack.parent.parent / folder
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:16]
    if files:
        return np.stack([to_tensor(fit_to_input(load_image(f).rgb, manifest.input)[0], manifest.input)
                         for f in files])
    rng = np.random.default_rng(0)
    shape = (4, manifest.input.height, manifest.input.width, manifest.input.channels)
    rgb = rng.integers(0, 256, shape, dtype=np.uint8)
    return np.stack([to_tensor(x, manifest.input) for x in rgb])


def check_parity(old: bytes, new: bytes, outputs: Sequence[str], batch: np.ndarray, input_name: str) -> None:
    """Raise unless every output of the old model is bit-identical in the new one."""
    import onnxruntime as ort

    runs = []
    for data in (old, new):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # the same thread count: the same float reductions
        session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
        runs.append(session.run(list(outputs), {input_name: batch}))
    for name, a, b in zip(outputs, *runs):
        if a.shape != b.shape or not np.array_equal(a, b):
            raise SurgeryError(f"output '{name}' changed after the surgery (max diff "
                               f"{float(np.max(np.abs(a - b))) if a.shape == b.shape else 'shape'}); nothing written")


def run_surgery(pack: Path, tensors: Sequence[str], *, layout: str = "NCHW", version: str | None = None,
                name: str = OUTPUT_NAME) -> dict:
    """Rewrite ``pack``'s model.onnx and manifest.json in place; returns the record written."""
    from inference.manifest import load_manifest

    pack = Path(pack)
    manifest = load_manifest(pack / "manifest.json")
    model_path = pack / manifest.model.file
    old = model_path.read_bytes()
    if hashlib.sha256(old).hexdigest() != manifest.model.sha256:
        raise SurgeryError(f"{model_path} does not match the SHA-256 in its manifest: refusing to edit it")
    if manifest.model.external_data:
        raise SurgeryError("models with external data are not supported by this tool")
    new, info = add_patch_output(old, tensors, layout, name)
    batch = _sample_batch(pack, manifest)
    check_parity(old, new, list(manifest.outputs.values()), batch, manifest.input.name)
    info["parity"] = {"outputs": sorted(manifest.outputs), "images": int(len(batch)), "bit_identical": True}
    info["built_by"] = " ".join(["python -m training.pipeline.patch_features", f"--pack {pack}"]
                                + [f"--tensor {t}" for t in tensors] + ([f"--version {version}"] if version else []))
    write_edited_pack(pack, model_path, new, version, "patch_features", info,
                      lambda raw: raw["outputs"].update(patch_features=name))
    return info


def write_edited_pack(pack: Path, model_path: Path, new: bytes, version: str | None, training_key: str,
                      info: dict, edit: Callable[[dict], None]) -> None:
    """Write an edited model and its manifest (this tool's and ``fix_heatmap_class``'s last step):
    ``edit`` changes the manifest's own fields; the new SHA-256, the version and
    ``training[training_key] = info`` are set here. The manifest is validated before anything is
    written, and the model file is replaced in one rename."""
    from inference.manifest import validate_manifest

    raw = json.loads((pack / "manifest.json").read_text(encoding="utf-8"))
    edit(raw)
    raw["model"]["sha256"] = hashlib.sha256(new).hexdigest()
    if version:
        raw["version"] = version
    raw.setdefault("training", {})[training_key] = info
    text = json.dumps(raw, indent=2, ensure_ascii=False) + "\n"
    validate_manifest(json.loads(text))
    tmp = model_path.with_suffix(".onnx.tmp")
    tmp.write_bytes(new)
    tmp.replace(model_path)
    (pack / "manifest.json").write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.pipeline.patch_features",
                                     description="Add a patch-features output to a pack's ONNX model.")
    parser.add_argument("--pack", required=True, type=Path, help="pack folder (manifest.json, model.onnx)")
    parser.add_argument("--tensor", required=True, action="append", help="feature-map tensor name (repeatable)")
    parser.add_argument("--layout", choices=("NCHW", "NHWC"), default="NCHW", help="layout of those tensors")
    parser.add_argument("--version", default=None, help="new pack version (e.g. 1.2.1)")
    args = parser.parse_args(argv)
    return report(lambda: run_surgery(args.pack, args.tensor, layout=args.layout, version=args.version))


def report(surgery) -> int:
    """Run a pack surgery for a command line: its summary as JSON and exit status 0, or the
    refusal on stderr and exit status 2 (shared by this tool and fix_heatmap_class)."""
    try:
        info = surgery()
    except SurgeryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
