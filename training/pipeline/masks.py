"""Region masks as a training signal (``schedule.mask_loss``): where the evidence for a class is.

A GlobalAveragePooling -> Dense head scores an image by the mean over the last feature map's cells
of ``W^T a_ij``, and the exported CAM of class *c* is ``relu(W_c^T a_ij)``. With a ground-truth mask
of the region that makes an image belong to the positive class (the generator's defect mask), each
cell gets a target: cells the mask covers should carry evidence for the positive class
(``W_c^T a_ij > 0``), cells of negative images and cells well outside the mask should not
(``<= 0``). The loss is a balanced binary cross-entropy on ``e_ij = W_c^T a_ij``: the mean softplus
of ``-e`` over covered cells plus the mean softplus of ``e`` over the others, a one-cell ring around
each mask left out. Its boundary ``e = 0`` is exactly where the CAM turns on, so the training
pushes the heatmap onto the defect and gives the classifier a dense signal for regions a few
pixels wide (mixed supervision, as in Bozic et al., "Mixed supervision for surface-defect
detection", Computers in Industry 2021).

Masks follow the images through the app's fitting (:func:`inference.preprocess.fit_to_input`) and
the same augmentation draws as the cached features (:meth:`Augmenter.__call__` with ``mask=``
consumes the random stream exactly as without one), then are reduced to the feature grid as the
covered fraction of each cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

COVER_MIN = 0.01  # a cell counts as covered from 1% of its area


def fit_masks(paths: Sequence[str | Path | None], spec) -> np.ndarray:
    """Masks (any size; non-zero = inside) fitted to the model input like the images: uint8
    (N, H, W), 0 for a missing or empty path."""
    from inference.preprocess import fit_to_input

    out = np.zeros((len(paths), spec.height, spec.width), np.uint8)
    for i, p in enumerate(paths):
        if not p:
            continue
        m = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        if m is None:
            raise FileNotFoundError(f"mask {p} could not be read")
        m = np.where(m > 0, 255, 0).astype(np.uint8)
        out[i] = fit_to_input(np.repeat(m[:, :, None], 3, axis=2), spec)[0][..., 0]
    return out


def replay_augmented(masks: np.ndarray, augmenter, seed: int) -> np.ndarray:
    """The masks under the augmentation the cached features of this ``seed`` got: the same random
    stream, one image at a time in order (see :func:`training.pipeline.features.trunk_features`)."""
    rng = np.random.default_rng(seed)
    blank = np.zeros((*masks.shape[1:], 3), np.uint8)
    out = np.empty_like(masks)
    for i, m in enumerate(masks):
        _, out[i] = augmenter(blank, rng, mask=m)
    return out


def coverage(masks: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Covered fraction of each cell of a ``grid`` (rows, cols): float32 (N, rows, cols)."""
    gh, gw = grid
    out = np.empty((len(masks), gh, gw), np.float32)
    for i, m in enumerate(masks):
        out[i] = cv2.resize(m.astype(np.float32) / 255.0, (gw, gh), interpolation=cv2.INTER_AREA)
    return out


def cell_targets(cov: np.ndarray, positive: np.ndarray, has_mask: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(pos, neg) boolean cell maps: covered cells of positive images; every cell of negative images
    and the cells of positive images beyond a one-cell ring around the covered ones. A positive
    image without a mask (``has_mask`` False) gets no targets at all: its region is unknown."""
    positive = np.asarray(positive, bool)
    has_mask = np.ones(len(positive), bool) if has_mask is None else np.asarray(has_mask, bool)
    covered = cov >= COVER_MIN
    pos = covered & (positive & has_mask)[:, None, None]
    near = np.stack([cv2.dilate(c.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0 for c in covered]) \
        if len(covered) else covered
    neg = (~near & (positive & has_mask)[:, None, None]) | ~positive[:, None, None]
    return pos, neg


def tf_cell_loss(feature_map, kernel, positive_class: int, pos, neg):
    """Balanced cell-wise BCE on ``e = feature_map . kernel[:, positive_class]`` (see module doc).
    ``pos`` / ``neg``: float 0/1 tensors (B, h, w)."""
    import tensorflow as tf

    e = tf.einsum("bhwk,k->bhw", feature_map, kernel[:, positive_class])
    pos_n = tf.reduce_sum(pos)
    neg_n = tf.reduce_sum(neg)
    pos_loss = tf.math.divide_no_nan(tf.reduce_sum(tf.nn.softplus(-e) * pos), pos_n)
    neg_loss = tf.math.divide_no_nan(tf.reduce_sum(tf.nn.softplus(e) * neg), neg_n)
    return pos_loss + neg_loss
