"""Out-of-domain scores, the out-of-domain image sets they are measured on, and the in-graph
Mahalanobis layer.

Two scores are compared per pack, each thresholded to accept a fixed share (95%) of in-domain
validation images; the one that refuses more out-of-domain images is used:

- **energy** ``-T log sum exp(logits / T)`` (Liu et al. 2020): needs only the logits, which the
  app reads from the ``logits`` output (``ood.score = "energy"``).
- **Mahalanobis** distance of the pooled embedding to the nearest class mean under a shared,
  Ledoit-Wolf-shrunk covariance (Lee et al. 2018), divided by the embedding size. It is baked into
  the ONNX graph as the ``ood_score`` output (``ood.score = "output"``).

Out-of-domain sets: folders of images (ImageNet samples, CEDAR signatures) and synthetic
"document scans" made here. Each set is split in two halves: the *selection* half picks the score,
the *report* half gives the numbers on the card.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import cv2
import numpy as np

from training.pipeline.config import resolve_path


def energy_score(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Negative free energy; higher = more out-of-domain. Same formula as the app's inspector."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    m = z.max(axis=-1, keepdims=True)
    return -temperature * (m[..., 0] + np.log(np.exp(z - m).sum(axis=-1)))


def max_softmax_score(probs: np.ndarray) -> np.ndarray:
    return 1.0 - np.asarray(probs, dtype=np.float64).max(axis=1)


@dataclass
class Mahalanobis:
    """Class means and a whitening matrix ``L`` (precision = L L^T) of the embedding."""

    means: np.ndarray  # (C, D)
    whitener: np.ndarray  # (D, D)

    @classmethod
    def fit(cls, embeddings: np.ndarray, labels: np.ndarray, shrinkage: str | float = "ledoit-wolf") -> "Mahalanobis":
        from sklearn.covariance import LedoitWolf, ShrunkCovariance

        x = np.asarray(embeddings, dtype=np.float64)
        y = np.asarray(labels, dtype=int)
        classes = np.unique(y)
        means = np.zeros((int(y.max()) + 1, x.shape[1]))
        centred = np.empty_like(x)
        for c in classes:
            means[c] = x[y == c].mean(axis=0)
            centred[y == c] = x[y == c] - means[c]
        if shrinkage == "ledoit-wolf":
            cov = LedoitWolf(assume_centered=True).fit(centred).covariance_
        else:
            cov = ShrunkCovariance(shrinkage=float(shrinkage), assume_centered=True).fit(centred).covariance_
        cov = cov + np.eye(cov.shape[0]) * 1e-6 * np.trace(cov) / cov.shape[0]
        precision = np.linalg.inv(cov)
        precision = (precision + precision.T) / 2.0
        whitener = np.linalg.cholesky(precision)
        # Classes absent from the training data keep a mean far away: they never win the min.
        missing = [c for c in range(len(means)) if c not in classes]
        for c in missing:
            means[c] = np.full(x.shape[1], 1e6)
        return cls(means.astype(np.float32), whitener.astype(np.float32))

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """min over classes of the squared Mahalanobis distance, divided by the dimension."""
        z = np.asarray(embeddings, dtype=np.float64) @ self.whitener.astype(np.float64)
        m = self.means.astype(np.float64) @ self.whitener.astype(np.float64)
        d = ((z[:, None, :] - m[None, :, :]) ** 2).sum(-1)
        return d.min(axis=1) / z.shape[1]

    def keras_layer(self, name: str = "ood_score"):
        """A Keras layer computing :meth:`score` from the embedding tensor (float32)."""
        import keras
        from keras import ops

        whitener = self.whitener.astype(np.float32)
        projected_means = (self.means.astype(np.float64) @ self.whitener.astype(np.float64)).astype(np.float32)
        dim = float(whitener.shape[1])

        class MahalanobisScore(keras.layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                # Non-trainable weights, so tf2onnx freezes them into initializers.
                self.w = self.add_weight(shape=whitener.shape, initializer=keras.initializers.Constant(whitener),
                                         trainable=False, name="whitener")
                self.m = self.add_weight(shape=projected_means.shape, trainable=False, name="projected_means",
                                         initializer=keras.initializers.Constant(projected_means))

            def call(self, embedding):
                z = ops.matmul(embedding, self.w)
                diff = ops.expand_dims(z, 1) - ops.expand_dims(self.m, 0)
                d = ops.sum(diff * diff, axis=-1)
                return ops.min(d, axis=-1) / dim

        return MahalanobisScore(name=name)


# ------------------------------------------------------------------------------------------------
# out-of-domain image sets

def _word(rng: np.random.Generator) -> str:
    n = int(rng.integers(2, 10))
    letters = string.ascii_lowercase
    w = "".join(letters[int(i)] for i in rng.integers(0, 26, n))
    return w.capitalize() if rng.random() < 0.15 else w


def synthetic_document(rng: np.random.Generator, height: int = 560) -> np.ndarray:
    """A synthetic scanned or photographed document page (RGB uint8): paper, printed text lines,
    sometimes a table, a stamp, a handwritten-looking scribble; scanner shading and noise."""
    aspect = rng.choice([1.414, 1.294, 0.707, 1.0, 1.6])
    w = int(height / aspect) if aspect > 1 else int(height * (1 / aspect) * 0.75)
    h = height
    paper = np.array([rng.uniform(228, 255), rng.uniform(226, 252), rng.uniform(215, 250)], np.float32)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = paper.astype(np.uint8)
    ink = (int(rng.uniform(0, 60)),) * 3 if rng.random() < 0.8 else (20, 30, 120)
    font = int(rng.choice([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_DUPLEX,
                           cv2.FONT_HERSHEY_TRIPLEX]))
    margin = int(w * rng.uniform(0.06, 0.12))
    y = int(h * rng.uniform(0.06, 0.12))
    # Heading
    scale = rng.uniform(0.7, 1.1) * w / 500
    cv2.putText(img, " ".join(_word(rng) for _ in range(rng.integers(1, 4))).upper(), (margin, y + int(20 * scale)),
                font, scale, ink, max(1, int(2 * scale)), cv2.LINE_AA)
    y += int(45 * scale)
    line_h = int(rng.uniform(14, 22) * w / 500)
    text_scale = line_h / 32.0
    table_at = int(rng.integers(3, 12)) if rng.random() < 0.4 else -1
    row = 0
    while y < h - margin - line_h:
        if row == table_at:
            rows, cols = int(rng.integers(3, 7)), int(rng.integers(2, 5))
            th = rows * line_h * 1.4
            x0, x1 = margin, w - margin
            for r in range(rows + 1):
                yy = int(y + r * line_h * 1.4)
                cv2.line(img, (x0, yy), (x1, yy), ink, 1, cv2.LINE_AA)
            for c in range(cols + 1):
                xx = int(x0 + c * (x1 - x0) / cols)
                cv2.line(img, (xx, y), (xx, int(y + th)), ink, 1, cv2.LINE_AA)
            for r in range(rows):
                for c in range(cols):
                    cv2.putText(img, _word(rng), (int(x0 + c * (x1 - x0) / cols + 4), int(y + (r + 0.8) * line_h * 1.4)),
                                font, text_scale * 0.9, ink, 1, cv2.LINE_AA)
            y += int(th + line_h)
        elif rng.random() < 0.12:
            y += line_h  # paragraph break
        else:
            x = margin + (int(line_h * 1.5) if rng.random() < 0.1 else 0)
            limit = w - margin if rng.random() < 0.85 else int(w * rng.uniform(0.3, 0.8))
            while True:
                word = _word(rng)
                (tw, _), _ = cv2.getTextSize(word, font, text_scale, 1)
                if x + tw > limit:
                    break
                cv2.putText(img, word, (x, y), font, text_scale, ink, 1, cv2.LINE_AA)
                x += tw + int(line_h * 0.4)
            y += line_h
        row += 1
    if rng.random() < 0.35:  # stamp
        c = (int(rng.uniform(0.55, 0.85) * w), int(rng.uniform(0.6, 0.9) * h))
        r = int(rng.uniform(0.06, 0.1) * w)
        colour = (160, 40, 40) if rng.random() < 0.5 else (40, 60, 160)
        cv2.circle(img, c, r, colour, 2, cv2.LINE_AA)
        cv2.circle(img, c, int(r * 0.75), colour, 1, cv2.LINE_AA)
    if rng.random() < 0.5:  # scribbled signature
        pts = np.cumsum(rng.normal(0, 6, (40, 2)), axis=0) + [w * 0.3, h * 0.85]
        cv2.polylines(img, [pts.astype(np.int32)], False, (20, 30, 90), 2, cv2.LINE_AA)
    # Scanner/camera: shading, slight rotation, blur, noise; sometimes a photo on a desk.
    img = img.astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = 1.0 - rng.uniform(0, 0.15) * ((xx / w - rng.uniform(0, 1)) ** 2 + (yy / h - rng.uniform(0, 1)) ** 2)
    img *= shade[..., None]
    angle = rng.uniform(-3, 3)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    border = tuple(float(v) for v in (rng.uniform(40, 120),) * 3) if rng.random() < 0.3 else tuple(float(v) for v in paper)
    img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.0))
    img += rng.normal(0, rng.uniform(1, 6), img.shape).astype(np.float32)
    if rng.random() < 0.3:
        img = np.repeat(img.mean(axis=2, keepdims=True), 3, axis=2)
    return np.clip(img, 0, 255).astype(np.uint8)


def synthetic_documents(count: int, seed: int, height: int = 560) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [synthetic_document(rng, height) for _ in range(count)]


@dataclass
class OodSet:
    """An out-of-domain set: image paths or arrays, split into selection and report halves."""

    name: str
    description: str
    items: list  # Path or np.ndarray
    ids: list[str]

    def halves(self) -> tuple["OodSet", "OodSet"]:
        sel = OodSet(self.name, self.description, self.items[0::2], self.ids[0::2])
        rep = OodSet(self.name, self.description, self.items[1::2], self.ids[1::2])
        return sel, rep


def load_ood_sets(specs: list[dict], limit: int, seed: int, log=print) -> list[OodSet]:
    """The configured OOD sets. A folder that is missing is skipped with a message (the card then
    says the set was not measured)."""
    from inference.imageio import IMAGE_EXTENSIONS

    out = []
    for i, spec in enumerate(specs):
        name = spec["name"]
        n = int(spec.get("limit", limit) or limit)
        n = min(n, limit)
        if spec.get("kind") == "synthetic-documents":
            imgs = synthetic_documents(n, seed + 101 + i)
            out.append(OodSet(name, spec.get("description", "synthetic document scans"), imgs,
                              [f"document_{k:03d}" for k in range(n)]))
            continue
        folder = resolve_path(spec["path"])
        if folder is None or not folder.is_dir():
            log(f"  OOD set '{name}': folder {spec.get('path')} not found, skipped")
            continue
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        rng = np.random.default_rng(seed + 13 + i)
        if len(files) > n:
            files = [files[j] for j in sorted(rng.choice(len(files), n, replace=False))]
        out.append(OodSet(name, spec.get("description", str(spec["path"])), files,
                          [p.relative_to(folder).as_posix() for p in files]))
    return out


def rejection_rates(scores_by_set: dict[str, np.ndarray], threshold: float) -> dict[str, float]:
    """Share of each set's scores above ``threshold`` (refused as out-of-domain)."""
    return {k: float(np.mean(np.asarray(v) > threshold)) for k, v in scores_by_set.items()}
