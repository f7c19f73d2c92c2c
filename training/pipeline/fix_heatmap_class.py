"""Make a pack's in-graph heatmap always show one class's evidence (``decision.heatmap_class``).

    python -m training.pipeline.fix_heatmap_class --pack models/skin-binary --class malignant --version 1.2.2

For packs exported before ``decision.heatmap_class`` existed, or without it, whose Keras run folder is
gone (so :func:`training.pipeline.export_stages.build_cam_model` cannot rebuild the graph). Their
``cam`` output picks its class with an ArgMax over the logits (or probabilities) that feeds a Gather of
the dense kernel; this tool replaces that ArgMax's result with the chosen class index, computed as
``ArgMax * 0 + k`` so the index keeps its shape (one per image, dynamic batch) and dtype. Graph
surgery only, no weight changes: the tool refuses unless every ArgMax it rewires reaches no output but
``cam``, every other output is bit-identical on the pack's sample photos, and the new ``cam`` equals
the old one on every photo whose old argmax was the chosen class. The manifest gets
``decision.heatmap_class``, the model's new SHA-256, the version given and a record under
``training.heatmap_class``; nothing else in the pack changes.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np

from training.pipeline.patch_features import SurgeryError, _sample_batch, check_parity, report, write_edited_pack

__all__ = ["SurgeryError", "fix_cam_class", "run_fix", "main"]


def _consumers(graph) -> dict[str, list]:
    out: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            out.setdefault(name, []).append(node)
    return out


def _reached_outputs(graph, start: str) -> set[str]:
    """The graph outputs that depend on tensor ``start``."""
    consumers = _consumers(graph)
    outputs = {o.name for o in graph.output}
    seen, stack, reached = {start}, [start], set()
    while stack:
        t = stack.pop()
        if t in outputs:
            reached.add(t)
        for node in consumers.get(t, []):
            for o in node.output:
                if o not in seen:
                    seen.add(o)
                    stack.append(o)
    return reached


def fix_cam_class(model_bytes: bytes, index: int, *, cam: str = "cam",
                  sources: Sequence[str] = ("logits", "probs")) -> tuple[bytes, dict]:
    """The model whose ``cam`` output is the map of class ``index``; and a description of the change.

    Rewires every ArgMax over one of ``sources`` (tensor names) whose result reaches ``cam`` and no
    other output.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    if not any(o.name == cam for o in graph.output):
        raise SurgeryError(f"the model has no output named '{cam}'")
    targets = [n for n in graph.node if n.op_type == "ArgMax" and n.input[0] in sources
               and cam in _reached_outputs(graph, n.output[0])]
    if not targets:
        raise SurgeryError(f"no ArgMax over {list(sources)} feeds '{cam}': cannot tell how it picks its class")
    n_classes = None
    for v in graph.output:
        if v.name in sources:
            dims = v.type.tensor_type.shape.dim
            if len(dims) == 2 and dims[1].HasField("dim_value"):
                n_classes = dims[1].dim_value
    if n_classes is not None and not 0 <= index < n_classes:
        raise SurgeryError(f"class index {index} is outside the model's {n_classes} classes")
    rewired = []
    for i, node in enumerate(targets):
        others = _reached_outputs(graph, node.output[0]) - {cam}
        if others:
            raise SurgeryError(f"ArgMax '{node.name}' also feeds {sorted(others)}: refusing to change it")
        final = node.output[0]
        raw = f"{final}/argmax_before_heatmap_class"
        node.output[0] = raw
        zero = f"heatmap_class/{i}/zero"
        k = f"heatmap_class/{i}/index"
        graph.initializer.extend([numpy_helper.from_array(np.array(0, np.int64), zero),
                                  numpy_helper.from_array(np.array(index, np.int64), k)])
        # ArgMax * 0 + k: the chosen index with ArgMax's own shape (batch) and dtype (int64).
        new_nodes = [helper.make_node("Mul", [raw, zero], [f"heatmap_class/{i}/zeros"], name=f"heatmap_class/{i}/mul"),
                     helper.make_node("Add", [f"heatmap_class/{i}/zeros", k], [final], name=f"heatmap_class/{i}/add")]
        at = list(graph.node).index(node) + 1
        for j, new in enumerate(new_nodes):
            graph.node.insert(at + j, new)
        rewired.append(node.name or final)
    onnx.checker.check_model(model)
    return model.SerializeToString(), {"class_index": int(index), "rewired_argmax": rewired}


def _run(data: bytes, names: Sequence[str], batch: np.ndarray, input_name: str) -> list[np.ndarray]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # as check_parity: the same thread count, the same float reductions
    session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    return session.run(list(names), {input_name: batch})


def check_cam(old: bytes, new: bytes, index: int, batch: np.ndarray, input_name: str,
              cam: str, logits: str) -> dict:
    """Raise unless the new cam equals the old one wherever the old argmax was ``index``."""
    old_cam, old_logits = _run(old, [cam, logits], batch, input_name)
    (new_cam,) = _run(new, [cam], batch, input_name)
    same = np.argmax(old_logits, axis=1) == index
    if new_cam.shape != old_cam.shape:
        raise SurgeryError(f"'{cam}' changed shape {old_cam.shape} -> {new_cam.shape}; nothing written")
    if not np.array_equal(new_cam[same], old_cam[same]):
        raise SurgeryError(f"'{cam}' differs from the old one on images already predicted as class {index}; "
                           "nothing written")
    return {"images_already_that_class": int(same.sum()), "images_changed_map": int((~same).sum())}


def run_fix(pack: Path, class_name: str, *, version: str | None = None) -> dict:
    """Rewrite ``pack``'s model.onnx and manifest.json in place; returns the record written."""
    from inference.manifest import load_manifest

    pack = Path(pack)
    manifest = load_manifest(pack / "manifest.json")
    names = [c.name for c in manifest.classes]
    if class_name not in names:
        raise SurgeryError(f"'{class_name}' is not one of the pack's classes {names}")
    if "cam" not in manifest.outputs:
        raise SurgeryError("the pack has no cam output")
    if "logits" not in manifest.outputs:
        raise SurgeryError("the pack has no logits output: the cam check needs it")
    model_path = pack / manifest.model.file
    old = model_path.read_bytes()
    if hashlib.sha256(old).hexdigest() != manifest.model.sha256:
        raise SurgeryError(f"{model_path} does not match the SHA-256 in its manifest: refusing to edit it")
    if manifest.model.external_data:
        raise SurgeryError("models with external data are not supported by this tool")
    index = names.index(class_name)
    cam = manifest.outputs["cam"]
    sources = [manifest.outputs[k] for k in ("logits", "probs") if k in manifest.outputs]
    new, info = fix_cam_class(old, index, cam=cam, sources=sources)
    batch = _sample_batch(pack, manifest)
    others = [v for k, v in manifest.outputs.items() if k != "cam"]
    check_parity(old, new, others, batch, manifest.input.name)
    info["cam_check"] = check_cam(old, new, index, batch, manifest.input.name, cam, manifest.outputs["logits"])
    info["parity"] = {"outputs": sorted(k for k in manifest.outputs if k != "cam"), "images": int(len(batch)),
                      "bit_identical": True}
    info["class"] = class_name
    info["model_sha256_before"] = manifest.model.sha256
    info["built_by"] = " ".join(["python -m training.pipeline.fix_heatmap_class", f"--pack {pack}",
                                 f"--class {class_name}"] + ([f"--version {version}"] if version else []))
    write_edited_pack(pack, model_path, new, version, "heatmap_class", info,
                      lambda raw: raw["decision"].update(heatmap_class=class_name))
    return info


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.pipeline.fix_heatmap_class",
                                     description="Make a pack's cam output show one class's evidence.")
    parser.add_argument("--pack", required=True, type=Path, help="pack folder (manifest.json, model.onnx)")
    parser.add_argument("--class", dest="class_name", required=True, help="class the heatmap should show")
    parser.add_argument("--version", default=None, help="new pack version (e.g. 1.2.2)")
    args = parser.parse_args(argv)
    return report(lambda: run_fix(args.pack, args.class_name, version=args.version))


if __name__ == "__main__":
    raise SystemExit(main())
