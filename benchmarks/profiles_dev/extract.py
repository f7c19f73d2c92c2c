"""Extract raw intermediate maps of a seal pack's ONNX for every photo of a dev set (cache, float16).

    extract.py [--taps trunk|b6|mirror|neck] PACK OUT SETS...

``trunk`` (default): blocks 2b, 3b, 4c, 5c, 6c; ``b6``: block 6c alone (round 140); ``mirror``: the
mirror image's trunk (6b, 6c); ``neck``: the neck's two convolutions, the mirror average and block 6b."""
import csv, sys, time
from pathlib import Path
import numpy as np, onnx, onnxruntime as ort
sys.path.insert(0, '.')
from inference.manifest import load_manifest
from inference.imageio import load_image
from inference.preprocess import fit_to_input, to_tensor

TAP_SETS = {
    "trunk": {"b2": "block2b_add_1/Add:0", "b3": "block3b_add_1/Add:0", "b4": "block4c_add_1/Add:0",
              "b5": "block5c_add_1/Add:0", "b6": "block6c_add_1/Add:0"},
    "b6": {"b6": "block6c_add_1/Add:0"},
    "mirror": {"b6m": "mirror_trunk_1/block6c_add_1/Add:0", "b6bm": "mirror_trunk_1/block6b_add_1/Add:0"},
    "neck": {"n1": "neck_conv1_1/Relu:0", "n2": "neck_conv2_1/Relu:0", "nav": "mirror_average_1/truediv:0",
             "b6b": "block6b_add_1/Add:0"},
}
args = sys.argv[1:]
which = "trunk"
if args and args[0] == "--taps":
    which, args = args[1], args[2:]
TAPS = TAP_SETS[which]
pack = Path(args[0]); out_root = Path(args[1]); sets = args[2:]
man = load_manifest(pack / "manifest.json")
m = onnx.load(str(pack / man.model.file))
prefix = "seal_integrity_export_1/"
names = [prefix + t for t in TAPS.values()]
for n in names:
    m.graph.output.append(onnx.helper.make_empty_tensor_value_info(n))
opts = ort.SessionOptions(); opts.intra_op_num_threads = 1
sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
for s in sets:
    folder = Path(s); rows = list(csv.DictReader(open(folder / "labels.csv")))
    t0 = time.time(); acc = {k: [] for k in TAPS}; probs = []
    for i in range(0, len(rows), 8):
        batch = np.stack([to_tensor(fit_to_input(load_image(folder / r["file"]).rgb, man.input)[0], man.input) for r in rows[i:i+8]])
        res = sess.run(names + [man.outputs["probs"]], {man.input.name: batch})
        for k, a in zip(TAPS, res[:-1]):
            acc[k].append(a.astype(np.float16))
        probs.append(res[-1])
    out = out_root / (folder.parent.name + "_" + folder.name + ".npz")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **{k: np.concatenate(v) for k, v in acc.items()}, probs=np.concatenate(probs),
             label=np.array([r["label"] for r in rows]), scene=np.array([r.get("scene", "") for r in rows]))
    print(out, len(rows), f"{time.time()-t0:.0f}s", flush=True)
