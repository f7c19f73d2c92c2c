"""Dev-only (round 8): the shipped pack's patch features of augmented copies of each dev set's 20
enrolled intact photos (and of the originals, as a parity check against the cached block 6c).

    augfeat.py [--intact [FIRST:]END] [--augs A,B,...] OUT SETDIR...

Writes OUT/<set>.npz with ``orig`` (N×14×14×192, the first N intact photos, default 20), one array per augmentation, and ``p_<aug>`` the
damage probabilities. Augmentations: mirror, rotations with a centre crop (no empty corners), and
zoom; what a user's 20 photos would be turned into at enrolment (inference.profiles.augment)."""
import csv, sys, time
from pathlib import Path
import numpy as np, onnxruntime as ort
sys.path.insert(0, '.')
from inference.manifest import load_manifest
from inference.imageio import load_image
from inference.preprocess import fit_to_input, to_tensor
from PIL import Image

PACK = Path("models/seal-integrity")
man = load_manifest(PACK / "manifest.json")
opts = ort.SessionOptions(); opts.intra_op_num_threads = 1
sess = ort.InferenceSession(str(PACK / man.model.file), opts, providers=["CPUExecutionProvider"])
OUTS = [man.outputs["patch_features"], man.outputs["probs"]]


def rot_crop(rgb, deg, zoom=1.0):
    img = Image.fromarray(rgb)
    w, h = img.size
    r = img.rotate(deg, resample=Image.Resampling.BILINEAR)
    a = np.deg2rad(abs(deg))
    s = 1.0 / (np.cos(a) + np.sin(a)) / zoom  # the largest centred square with no empty corner
    cw, ch = w * s, h * s
    box = ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)
    return np.asarray(r.resize((w, h), Image.Resampling.BILINEAR, box=box))


AUGS = {
    "orig": lambda x: x,
    "flip": lambda x: np.ascontiguousarray(x[:, ::-1]),
    "r15": lambda x: rot_crop(x, 15), "rm15": lambda x: rot_crop(x, -15),
    "r30": lambda x: rot_crop(x, 30), "rm30": lambda x: rot_crop(x, -30),
    "z115": lambda x: rot_crop(x, 0, 1.15),
}
AUGS["fr15"] = lambda x: rot_crop(np.ascontiguousarray(x[:, ::-1]), 15)
AUGS["frm15"] = lambda x: rot_crop(np.ascontiguousarray(x[:, ::-1]), -15)


def run(tensors):
    outs_f, outs_p = [], []
    for i in range(0, len(tensors), 8):
        f, p = sess.run(OUTS, {man.input.name: np.stack(tensors[i:i + 8])})
        outs_f.append(f.astype(np.float16)); outs_p.append(p[:, 1])
    return np.concatenate(outs_f), np.concatenate(outs_p)


args = sys.argv[1:]
N_INTACT, FIRST = 20, 0
if args[0] == "--intact":   # --intact FIRST:END (intact photos FIRST..END-1) or --intact N
    a, _, b = args[1].rpartition(":"); FIRST, N_INTACT, args = int(a or 0), int(b), args[2:]
if args[0] == "--augs":     # only these (comma-separated), the originals left out
    AUGS = {k: AUGS[k] for k in args[1].split(",")}; args = args[2:]
out_root = Path(args[0])
out_root.mkdir(parents=True, exist_ok=True)
for s in args[1:]:
    folder = Path(s); rows = list(csv.DictReader(open(folder / "labels.csv")))
    enr = [r for r in rows if r["label"] == "intact"][FIRST:N_INTACT]
    t0 = time.time(); res = {}
    rgbs = [load_image(folder / r["file"]).rgb for r in enr]
    for name, fn in AUGS.items():
        tens = [to_tensor(fit_to_input(fn(x), man.input)[0], man.input) for x in rgbs]
        res[name], res["p_" + name] = run(tens)
    out = out_root / (folder.parent.name + "_" + folder.name + ".npz")
    np.savez(out, **res)
    print(out, f"{time.time() - t0:.0f}s", flush=True)
