"""Grey-level co-occurrence matrices and Haralick-style properties in numpy.

:func:`graycomatrix` and :func:`graycoprops` follow ``skimage.feature.graycomatrix`` /
``graycoprops`` (scikit-image 0.26) exactly — same offsets (row offset ``round(sin θ · d)``, column
offset ``round(cos θ · d)``), symmetric/normed options and the ``correlation`` special case — so
the runtime needs no scikit-image; ``tests/inference/signature/test_glcm.py`` checks them against it.
"""

from __future__ import annotations

import numpy as np

PROPS = ("contrast", "dissimilarity", "homogeneity", "ASM", "energy", "correlation")
DEFAULT_DISTANCES = (1, 2, 4)
DEFAULT_ANGLES = (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4)
DEFAULT_LEVELS = 8


def graycomatrix(image: np.ndarray, distances, angles, levels: int = 256, symmetric: bool = False,
                 normed: bool = False) -> np.ndarray:
    """Co-occurrence counts (levels, levels, n_distances, n_angles) of an integer image."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError("graycomatrix needs a 2-D image")
    if np.issubdtype(image.dtype, np.floating):
        raise ValueError("graycomatrix needs an integer image")
    if image.size and (image.min() < 0 or image.max() >= levels):
        raise ValueError("image values must be in [0, levels)")
    img = image.astype(np.int64)
    rows, cols = img.shape
    distances = np.asarray(distances, dtype=np.float64).ravel()
    angles = np.asarray(angles, dtype=np.float64).ravel()
    out = np.zeros((levels, levels, len(distances), len(angles)), dtype=np.uint32)
    for ai, angle in enumerate(angles):
        for di, distance in enumerate(distances):
            dr = int(np.round(np.sin(angle) * distance))
            dc = int(np.round(np.cos(angle) * distance))
            r0, r1 = max(0, -dr), min(rows, rows - dr)
            c0, c1 = max(0, -dc), min(cols, cols - dc)
            if r1 <= r0 or c1 <= c0:
                continue
            i = img[r0:r1, c0:c1]
            j = img[r0 + dr:r1 + dr, c0 + dc:c1 + dc]
            counts = np.bincount((i * levels + j).ravel(), minlength=levels * levels)
            out[:, :, di, ai] = counts.reshape(levels, levels)
    if symmetric:
        out = out + np.transpose(out, (1, 0, 2, 3))
    if normed:
        out = out.astype(np.float64)
        sums = out.sum(axis=(0, 1), keepdims=True)
        sums[sums == 0] = 1
        out /= sums
    return out


def graycoprops(P: np.ndarray, prop: str = "contrast") -> np.ndarray:
    """One property per (distance, angle), as ``skimage.feature.graycoprops``."""
    if P.ndim != 4 or P.shape[0] != P.shape[1]:
        raise ValueError("P must be (levels, levels, n_distances, n_angles)")
    n = P.shape[0]
    P = P.astype(np.float64)
    sums = P.sum(axis=(0, 1), keepdims=True)
    sums[sums == 0] = 1
    P = P / sums
    I, J = np.ogrid[0:n, 0:n]
    if prop == "contrast":
        return np.sum(P * ((I - J) ** 2).reshape(n, n, 1, 1), axis=(0, 1))
    if prop == "dissimilarity":
        return np.sum(P * np.abs(I - J).reshape(n, n, 1, 1), axis=(0, 1))
    if prop == "homogeneity":
        return np.sum(P * (1.0 / (1.0 + (I - J) ** 2)).reshape(n, n, 1, 1), axis=(0, 1))
    if prop == "ASM":
        return np.sum(P ** 2, axis=(0, 1))
    if prop == "energy":
        return np.sqrt(np.sum(P ** 2, axis=(0, 1)))
    if prop == "correlation":
        Ii = np.arange(n, dtype=np.float64).reshape(n, 1, 1, 1)
        Jj = np.arange(n, dtype=np.float64).reshape(1, n, 1, 1)
        di = Ii - np.sum(Ii * P, axis=(0, 1))
        dj = Jj - np.sum(Jj * P, axis=(0, 1))
        si = np.sqrt(np.sum(P * di ** 2, axis=(0, 1)))
        sj = np.sqrt(np.sum(P * dj ** 2, axis=(0, 1)))
        cov = np.sum(P * di * dj, axis=(0, 1))
        out = np.ones(cov.shape, dtype=np.float64)
        ok = (si >= 1e-15) & (sj >= 1e-15)
        out[ok] = cov[ok] / (si[ok] * sj[ok])
        return out
    raise ValueError(f"{prop} is not a GLCM property this module computes ({', '.join(PROPS)})")


def quantize(canvas: np.ndarray, levels: int = DEFAULT_LEVELS) -> np.ndarray:
    """uint8 image → integer levels 0..levels-1 (equal-width bins)."""
    return (np.asarray(canvas, dtype=np.uint16) * levels // 256).astype(np.uint8)


def glcm_features(canvas: np.ndarray, levels: int = DEFAULT_LEVELS, distances=DEFAULT_DISTANCES,
                  angles=DEFAULT_ANGLES) -> np.ndarray:
    """Texture descriptor of a normalised canvas: each of :data:`PROPS` per distance, averaged over
    the angles (rotation-tolerant) → ``len(PROPS) * len(distances)`` float64 values."""
    P = graycomatrix(quantize(canvas, levels), distances, angles, levels=levels, symmetric=True, normed=True)
    return np.concatenate([graycoprops(P, p).mean(axis=1) for p in PROPS])


def feature_names(distances=DEFAULT_DISTANCES) -> list[str]:
    return [f"glcm_{p}_d{d}" for p in PROPS for d in distances]
