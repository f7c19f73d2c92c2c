"""Synthetic security-seal photos for training the seal classifier (intact vs damaged).

Public API:

* :func:`render_sample` renders one photo (and its defect mask) from a numpy ``Generator``.
* :func:`generate_dataset` writes a balanced dataset: ``intact/*.jpg``, ``damaged/*.jpg``,
  ``masks/<stem>.png`` (255 inside the defect) and ``labels.csv``.

Determinism: every sample ``i`` is rendered from generators seeded by ``(seed, i)`` only, so the same
(seed, count, options) gives byte-identical files whether it runs serially or on ``workers``
processes, and the first N files of a larger run equal a run of N. Inside a sample the camera, the
light, the scene plan, the background and the defect each get their own generator, so an intact and
a damaged render of the same sample seed are identical except where the defect is.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import multiprocessing as mp
from pathlib import Path
from typing import Callable, Iterable

import cv2
import numpy as np

from training.seals.backgrounds import BACKGROUNDS, render_background
from training.seals.camera import LIGHTING, develop, sample_camera, sample_light, warp_mask, warp_to_frame
from training.seals.families import FAMILIES
from training.seals.fixtures import Scene
from training.seals.wide import PHOTO_BACKGROUNDS, occlude, photo_background, texture_overlay, wide_camera

# 1.1: close-up framing (the extent fills 70-115% of the frame), JPEG quality 55-95, wider cuts and cracks.
# 1.2: a fifth family (plastic_padlock); ``wide=True`` adds real-photo textures and backgrounds, white
# balance, glare, stronger blur, low JPEG, wider framing and hands/gloves (training/seals/wide.py).
# Without ``wide`` a render of the four 1.1 families is byte-identical to 1.1.
# 1.3: ``bolt13=True`` draws bolt seals the 1.3 way (training/seals/bolt13.py: cut shanks dropped or
# glued back, barrels fractured across, crushed or pulled down the shank; longer visible shanks).
# Without ``bolt13`` a render is byte-identical to 1.2.
GENERATOR_VERSION = "1.3"
LABELS: tuple[str, ...] = ("intact", "damaged")
FAMILY_NAMES: tuple[str, ...] = tuple(FAMILIES)
BACKGROUND_NAMES: tuple[str, ...] = BACKGROUNDS
# every background including the real-photo ones (wide mode's default list)
ALL_BACKGROUND_NAMES: tuple[str, ...] = BACKGROUNDS + PHOTO_BACKGROUNDS
LIGHTING_NAMES: tuple[str, ...] = tuple(LIGHTING)
DEFECTS: tuple[str, ...] = ("none", "cut", "crack", "lifted_void", "missing", "frayed", "prised")
DEFECTS_BY_FAMILY: dict[str, tuple[str, ...]] = {name: fam.defects for name, fam in FAMILIES.items()}
CSV_COLUMNS: tuple[str, ...] = ("file", "label", "family", "defect", "serial", "background", "lighting", "seed",
                                "mask", "scene", "occluded")

# Salts that keep the per-sample choice stream and render stream independent of each other.
_CHOICE_SALT = 0x5EA1
_RENDER_SALT = 0x5EED
_WIDE_SALT = 0x3D1DE
_BOLT13_SALT = 0xB013


def render_sample(rng: np.random.Generator, label: str, family: str, defect: str | None, background: str,
                  lighting: str, size: int = 256, wide: bool = False,
                  bolt13: bool = False) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Render one seal photo.

    ``label`` is "intact" (``defect`` must be "none" or None) or "damaged" (``defect`` one of the
    family's defects, or None to pick one). Returns ``(image, mask, meta)``: an ``(size, size, 3)``
    uint8 RGB image; for damaged samples a ``(size, size)`` uint8 mask that is 255 inside the defect
    region (None for intact ones); and a dict describing the sample (serial, fixture, zoom, ...).

    ``wide`` adds generator 1.2's wider conditions (see :mod:`training.seals.wide`); their random
    draws come from a stream of their own, derived from the camera seed, so an intact and a damaged
    render of one scene still share them. ``bolt13`` draws bolt seals the generator 1.3 way
    (:mod:`training.seals.bolt13`), from a plan stream of its own (the twins share it too).
    """
    if label not in LABELS:
        raise ValueError(f"label must be one of {LABELS}, not {label!r}")
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILY_NAMES)}")
    if background not in ALL_BACKGROUND_NAMES:
        raise ValueError(f"unknown background {background!r}; choose from {', '.join(ALL_BACKGROUND_NAMES)}")
    if background in PHOTO_BACKGROUNDS and not wide:
        raise ValueError(f"background {background!r} is a real-photo background: it needs wide=True")
    if lighting not in LIGHTING:
        raise ValueError(f"unknown lighting {lighting!r}; choose from {', '.join(LIGHTING_NAMES)}")
    if size < 32:
        raise ValueError("size must be at least 32 pixels")
    fam = FAMILIES[family]
    seeds = [int(s) for s in rng.integers(0, 2**62, size=5)]
    drng = np.random.default_rng(seeds[4])
    if label == "intact":
        if defect not in (None, "none"):
            raise ValueError(f"an intact sample has defect 'none', not {defect!r}")
        defect = None
    else:
        if defect is None:
            defect = fam.defects[int(drng.integers(len(fam.defects)))]
        if defect not in fam.defects:
            raise ValueError(f"family {family!r} has no defect {defect!r}; choose from {', '.join(fam.defects)}")

    wrng = np.random.default_rng([seeds[0], _WIDE_SALT]) if wide else None
    cam = sample_camera(np.random.default_rng(seeds[0]), size, lighting, wide=wide)
    if wide:
        wide_camera(wrng, cam.params)
    light = sample_light(np.random.default_rng(seeds[1]), lighting)
    plan = fam.plan(np.random.default_rng(seeds[2]), background)
    if bolt13 and family == "bolt":
        from training.seals.bolt13 import plan13

        plan13(np.random.default_rng([seeds[2], _BOLT13_SALT]), plan)
    x0, y0, x1, y1 = plan["extent"]
    # Render at about output resolution: the zoom decides how many canvas pixels a millimetre gets.
    u = cam.zoom * size / cam.rotated_extent(x1 - x0, y1 - y0)
    C = cam.canvas_size()
    # The scene is drawn already rotated and offset as the photo frames it; the canvas centre maps to
    # the frame centre, so only perspective is left for the final warp.
    c, s = np.cos(cam.angle), np.sin(cam.angle)
    mid = np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0])
    origin = (np.array([(C - 1) / 2.0, (C - 1) / 2.0]) + np.array(cam.shift) * size
              - np.array([c * mid[0] - s * mid[1], s * mid[0] + c * mid[1]]) * u)
    if background in PHOTO_BACKGROUNDS:
        canvas, info = photo_background(background, np.random.default_rng(seeds[3]), C, light)
    else:
        canvas, info = render_background(background, np.random.default_rng(seeds[3]), C, u, light, cam.angle)
        if wide and wrng.random() < 0.6:
            texture_overlay(np.random.default_rng([seeds[3], _WIDE_SALT]), canvas)
    scene = Scene(C=C, u=u, origin=origin, light=light, canvas=canvas, bg=info, background=background,
                  theta=cam.angle, tex_seed=seeds[3] ^ 0x7E7)
    mask_canvas = fam.draw(plan, scene, defect, drng)
    frame, hmat = warp_to_frame(scene.canvas, cam)
    mask = None
    if defect is not None:
        if mask_canvas is None:
            raise RuntimeError(f"{family}/{defect} produced no defect mask")
        mask = warp_mask(mask_canvas, hmat, size)
    occluded = False
    if wide and wrng.random() < 0.3:
        occluded = occlude(frame, np.random.default_rng([seeds[0], _WIDE_SALT, 1]), mask)
    image = develop(frame, cam)
    meta = dict(label=label, family=family, defect=defect or "none", background=background, lighting=lighting,
                serial=plan["serial"], size=size, zoom=round(cam.zoom, 4),
                rotation_deg=round(float(np.degrees(cam.angle)), 2), px_per_mm=round(float(u), 4),
                fixture=(plan.get("fixture") or plan.get("lugs") or {"kind": "seam"}).get("kind", "lugs"),
                style=("tape" if plan.get("tape") else "label") if family == "adhesive_label" else family,
                occluded=occluded)
    if plan.get("variant"):
        meta["variant"] = plan["variant"]
    if defect is not None:
        ys, xs = np.nonzero(mask)
        meta["defect_area"] = int(len(xs))
        meta["defect_bbox"] = [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())] if len(xs) else None
    return image, mask, meta


# ----------------------------------------------------------------------------------------------
# dataset


def resolve_names(names: Iterable[str] | str | None, universe: Iterable[str], kind: str) -> list[str]:
    """Expand a list (or comma-separated string) of names, ``all`` or glob patterns against ``universe``.

    The result keeps the universe's order so "a,b" and "b,a" give the same dataset.
    """
    universe = list(universe)
    if names is None:
        return universe
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    chosen: set[str] = set()
    for n in names:
        if n == "all":
            hits = universe
        elif any(ch in n for ch in "*?["):
            hits = fnmatch.filter(universe, n)
        elif n in universe:
            hits = [n]
        else:
            raise ValueError(f"unknown {kind} {n!r}; choose from {', '.join(universe)}")
        if not hits:
            raise ValueError(f"{kind} pattern {n!r} matches none of {', '.join(universe)}")
        chosen.update(hits)
    if not chosen:
        raise ValueError(f"no {kind} selected")
    return [n for n in universe if n in chosen]


def sample_spec(seed: int, index: int, families: list[str], backgrounds: list[str], lighting: list[str],
                defects: list[str] | None = None, paired: bool = False) -> dict:
    """What sample ``index`` of a dataset is: label, family, defect, background, lighting, render seed.

    Labels alternate (even index intact, odd damaged) so every prefix of a dataset is balanced; the
    family, background and lighting are drawn before (and independently of) the defect, so both
    classes share one distribution of everything but the defect.

    ``paired``: samples ``2j`` and ``2j + 1`` are one scene (same seal, fixture, background, light,
    camera and render seed), photographed intact and then damaged: the two images differ only where
    the defect is. ``scene`` is ``j`` then (the index otherwise), so a split grouped by it keeps
    the pair on one side.
    """
    scene = index // 2 if paired else index
    sel = np.random.default_rng([seed, scene, _CHOICE_SALT])
    label = LABELS[index % 2]
    family = families[int(sel.integers(len(families)))]
    background = backgrounds[int(sel.integers(len(backgrounds)))]
    light = lighting[int(sel.integers(len(lighting)))]
    defect = "none"
    if label == "damaged":
        allowed = [d for d in DEFECTS_BY_FAMILY[family] if defects is None or d in defects]
        defect = allowed[int(sel.integers(len(allowed)))]
    render_seed = int(np.random.default_rng([seed, scene, _RENDER_SALT]).integers(0, 2**62))
    return dict(index=index, label=label, family=family, defect=defect, background=background, lighting=light,
                seed=render_seed, scene=scene)


def _write_sample(job: tuple) -> dict:
    out_dir, spec, size, quality, wide, bolt13 = job
    image, mask, meta = render_sample(np.random.default_rng(spec["seed"]), spec["label"], spec["family"],
                                      None if spec["defect"] == "none" else spec["defect"], spec["background"],
                                      spec["lighting"], size, wide=wide, bolt13=bolt13)
    out = Path(out_dir)
    stem = f"seal_{spec['index']:06d}"
    rel = f"{spec['label']}/{stem}.jpg"
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError(f"could not encode {rel}")
    (out / rel).write_bytes(buf.tobytes())
    mask_rel = ""
    if mask is not None:
        mask_rel = f"masks/{stem}.png"
        ok, mbuf = cv2.imencode(".png", mask)
        if not ok:
            raise RuntimeError(f"could not encode {mask_rel}")
        (out / mask_rel).write_bytes(mbuf.tobytes())
    return dict(file=rel, label=spec["label"], family=spec["family"], defect=meta["defect"], serial=meta["serial"],
                background=spec["background"], lighting=spec["lighting"], seed=spec["seed"], mask=mask_rel,
                scene=spec["scene"], occluded=int(meta["occluded"]))


def _init_worker() -> None:
    # Two processes each spawning OpenCV's own thread pool on a 2-core box only thrash.
    cv2.setNumThreads(1)


def _prepare(out: Path) -> None:
    """Create the output folders and remove files a previous run left there (only our own names)."""
    out.mkdir(parents=True, exist_ok=True)
    for sub, pattern in (("intact", "seal_*.jpg"), ("damaged", "seal_*.jpg"), ("masks", "seal_*.png")):
        d = out / sub
        d.mkdir(exist_ok=True)
        for f in d.glob(pattern):
            f.unlink()
    for name in ("labels.csv", "generator.json"):
        if (out / name).exists():
            (out / name).unlink()


def generate_dataset(out_dir, count: int, seed: int, size: int = 256, backgrounds=None, lighting=None,
                     families=None, *, defects=None, paired: bool = False, wide: bool = False, bolt13: bool = False,
                     workers: int = 1,
                     jpeg_quality: int = 95,
                     progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Write ``count`` samples (half intact, half damaged) to ``out_dir``; returns the labels.csv rows.

    ``backgrounds``, ``lighting``, ``families`` and ``defects`` restrict the named lists (lists or
    comma-separated strings; ``all`` and glob patterns such as ``steel_door_*`` work), which is how a
    held-out split gets backgrounds or lighting never seen in training. ``workers`` > 1 renders in
    that many processes with identical output. ``paired`` renders each scene twice, intact and
    damaged (see :func:`sample_spec`); ``labels.csv``'s ``scene`` column names the pair. ``wide``
    renders generator 1.2's wider conditions; the real-photo backgrounds are then in the default list.
    ``bolt13`` draws bolt seals the generator 1.3 way (:mod:`training.seals.bolt13`).
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    fams = resolve_names(families, FAMILY_NAMES, "family")
    bgs = resolve_names(backgrounds if backgrounds is not None or wide else list(BACKGROUNDS),
                        ALL_BACKGROUND_NAMES, "background")
    if not wide and any(b in PHOTO_BACKGROUNDS for b in bgs):
        raise ValueError(f"the real-photo backgrounds ({', '.join(PHOTO_BACKGROUNDS)}) need wide=True")
    lights = resolve_names(lighting, LIGHTING_NAMES, "lighting")
    defs = None if defects is None else resolve_names(defects, DEFECTS[1:], "defect")
    if defs is not None:
        for f in fams:
            if not any(d in defs for d in DEFECTS_BY_FAMILY[f]):
                raise ValueError(f"family {f!r} has none of the selected defects ({', '.join(defs)}); "
                                 f"it supports {', '.join(DEFECTS_BY_FAMILY[f])}")
    out = Path(out_dir)
    _prepare(out)
    specs = [sample_spec(seed, i, fams, bgs, lights, defs, paired=bool(paired)) for i in range(count)]
    jobs = [(str(out), s, int(size), int(jpeg_quality), bool(wide), bool(bolt13)) for s in specs]
    rows: list[dict] = []
    if workers > 1 and count > 1:
        ctx = mp.get_context("spawn")
        chunk = max(1, min(16, count // (workers * 4)))
        with ctx.Pool(min(workers, count), initializer=_init_worker) as pool:
            for row in pool.imap(_write_sample, jobs, chunksize=chunk):
                rows.append(row)
                if progress:
                    progress(len(rows), count)
    else:
        for job in jobs:
            rows.append(_write_sample(job))
            if progress:
                progress(len(rows), count)
    with open(out / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    params = dict(generator="training.seals", version=GENERATOR_VERSION, count=count, seed=seed, size=size,
                  families=fams, backgrounds=bgs, lighting=lights, defects=defs, jpeg_quality=jpeg_quality,
                  paired=bool(paired), wide=bool(wide), bolt13=bool(bolt13))
    (out / "generator.json").write_text(json.dumps(params, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return rows
