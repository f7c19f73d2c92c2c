"""Tiny real packs for every GUI mode (also used by ``gui/screenshots.py``).

All are the colour model of ``tests/tiny_models.py`` wearing another mode's clothes:

- ``general``: classes red/green/blue (the plain colour pack);
- ``seal``: blue = "Seal intact", red = "Seal damaged" (alarming, review band 40–60 %);
- ``skin``: blue = benign, red = malignant, with an out-of-domain check (max-softmax): a grey or
  green photo is refused;
- ``signature`` (only when asked for: it trains a small SVM): the tiny real ``verify`` pack of
  ``tests/inference/signature/sig_fixtures.py``, with drawn signatures (:func:`signature_images`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from tiny_models import build_colour_model, colour_manifest, write_pack


def seal_manifest(model: bytes, pack_id: str = "seal-test", **over: Any) -> dict[str, Any]:
    m = colour_manifest(model, pack_id=pack_id, classes=("blue", "red"), mode="seal", name="Seal test pack")
    m["classes"] = [{"name": "blue", "label": "Intact"}, {"name": "red", "label": "Damaged"}]
    m["decision"] = {"alarming": ["red"], "review_band": [0.4, 0.6], "top_k": 2,
                     "verdict_words": {"blue": "Seal intact", "red": "Seal damaged"}, "heatmap_class": "red"}
    m["card"] = "CARD.md"
    m["metrics"] = {"test": {"accuracy": 0.97, "recall_damaged": 0.95}}
    m["words"] = {"subject": "seal photo", "translations": {"id": {
        "name": "Paket uji segel", "subject": "foto segel", "classes": {"blue": "Utuh", "red": "Rusak"},
        "verdict_words": {"blue": "Segel utuh", "red": "Segel rusak"}}}}
    m.update(over)
    return m


def skin_manifest(model: bytes, pack_id: str = "skin-test", **over: Any) -> dict[str, Any]:
    m = colour_manifest(model, pack_id=pack_id, classes=("blue", "red"), mode="skin", name="Skin test pack")
    m["classes"] = [{"name": "blue", "label": "Benign"}, {"name": "red", "label": "Malignant"}]
    m["decision"] = {"alarming": ["red"], "review_band": [0.3, 0.6], "top_k": 2,
                     "verdict_words": {"blue": "Likely benign", "red": "Possibly malignant"}}
    m["ood"] = {"score": "max_softmax", "threshold": 0.2}
    m["words"] = {"subject": "skin-lesion photo", "translations": {"id": {
        "name": "Paket uji kulit", "subject": "foto lesi kulit", "classes": {"blue": "Jinak", "red": "Ganas"},
        "verdict_words": {"blue": "Kemungkinan jinak", "red": "Kemungkinan ganas"}}}}
    m.update(over)
    return m


def write_manifest_pack(folder: Path, model: bytes, manifest: dict[str, Any], card: str | None = None) -> Path:
    write_pack(folder, model, manifest)
    if card is not None:
        (folder / "CARD.md").write_text(card, encoding="utf-8")
        save(folder / "plots" / "confusion.png", image("blue", size=(40, 40)))
    return folder


CARD = """# Seal test pack

A tiny model for tests: **blue** means the seal is intact, **red** that it is damaged.

![Confusion matrix](plots/confusion.png)

| metric | value |
|---|---|
| accuracy | 0.97 |

## Limitations

Not a real model.
"""


SIG_FIXTURES = Path(__file__).resolve().parent.parent / "inference" / "signature"


def _sig_fixtures():  # the signature tests' fixtures, imported (not copied)
    if str(SIG_FIXTURES) not in sys.path:
        sys.path.insert(0, str(SIG_FIXTURES))
    import sig_fixtures

    return sig_fixtures


def build_signature_pack(folder: Path, pack_id: str = "signature-test") -> Path:
    """The tiny verify pack (min 3 references, threshold 50 %, strict 80 %) in ``folder/pack_id``."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # scikit-learn's deprecations while training the SVM
        return _sig_fixtures().write_verify_pack(Path(folder) / pack_id, pack_id=pack_id)


def signature_images(folder: Path) -> dict[str, Path]:
    """Drawn signatures: three references, a genuine and a forged query, a blank page, a broken file."""
    fx = _sig_fixtures()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {
        "r1": fx.save(folder / "ref1.png", fx.draw_signature("loops")),
        "r2": fx.save(folder / "ref2.png", fx.draw_signature("loops", shift=4, width=5)),
        "r3": fx.save(folder / "ref3.png", fx.draw_signature("loops", shift=-3, background=245)),
        "r4": fx.save(folder / "ref4.png", fx.draw_signature("loops", shift=1, width=4, background=240)),
        "genuine": fx.save(folder / "cheque_genuine.png", fx.draw_signature("loops", shift=2, background=250, ink=40)),
        "forged": fx.save(folder / "cheque_forged.png", fx.draw_signature("zigzag")),
        "blank": fx.save(folder / "blank.png", np.full((80, 160), 250, np.uint8)),
    }
    broken = folder / "broken.png"
    broken.write_bytes(out["genuine"].read_bytes()[:50])
    out["broken"] = broken
    return out


def build_gui_packs(folder: Path, modes: tuple[str, ...] = ("general", "seal", "skin")) -> Path:
    """Write one tiny pack per mode into ``folder`` (a bundled-packs folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    if "general" in modes:
        write_pack(folder / "colour", build_colour_model())
    two = build_colour_model(classes=("blue", "red"))
    if "seal" in modes:
        write_manifest_pack(folder / "seal-test", two, seal_manifest(two), CARD)
    if "skin" in modes:
        write_manifest_pack(folder / "skin-test", two, skin_manifest(two))
    if "signature" in modes:
        build_signature_pack(folder)
    return folder


def break_pack(folder: Path) -> None:
    """Change the model file so its SHA-256 no longer matches the manifest."""
    model = folder / "model.onnx"
    model.write_bytes(model.read_bytes() + b"\0")


def image(colour: str, size: tuple[int, int] = (120, 160), value: int = 220) -> np.ndarray:
    """A photo-like test image: mostly ``colour``, with a darker frame so the heatmap has shape."""
    img = np.full((*size, 3), 40, dtype=np.uint8)
    channel = {"red": 0, "green": 1, "blue": 2}
    if colour == "grey":
        img[:] = 128
        return img
    h, w = size
    img[h // 8: -h // 8, w // 8: -w // 8, channel[colour]] = value
    return img


def save(path: Path, rgb: np.ndarray) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return path


def manifest_of(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
