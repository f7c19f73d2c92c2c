"""Enrolment copies: each enrolled photo of an intact seal also enters the profile mirrored, turned
and zoomed, so that a site's next intact photo, taken at a slightly different angle, finds patches
like its own in the bank (issue 25, profile enrolment).

A copy is described by a short code (data, stored in the profile): ``mirror``, ``rotate:DEG``
(counter-clockwise, degrees), ``zoom:F`` (F > 1 magnifies), joined with ``+`` (applied left to
right, e.g. ``mirror+rotate:15``). A turned photo is cut to the largest centred frame of its own
shape with no empty corner and stretched back to the photo's size, so no black wedge enters the bank.
Only the enrolled photos are copied; a judged photo is scored as it comes, so judging costs the same.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PIL import Image


def _rotate(rgb: np.ndarray, degrees: float, zoom: float = 1.0) -> np.ndarray:
    img = Image.fromarray(np.ascontiguousarray(rgb))
    w, h = img.size
    turned = img.rotate(degrees, resample=Image.Resampling.BILINEAR) if degrees else img
    a = math.radians(abs(degrees))
    c, s = math.cos(a), math.sin(a)
    # The largest centred frame of the photo's own shape that the turned photo covers entirely
    # (a margin of 1%, at least 2 pixels, keeps the bilinear edge out of it): no empty corner enters
    # the bank.
    margin = 1.0 - max(0.01, 2.0 / min(w, h)) if degrees else 1.0
    keep = min(w / (w * c + h * s), h / (w * s + h * c)) * margin / zoom
    cw, ch = w * keep, h * keep
    box = ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)
    return np.asarray(turned.resize((w, h), Image.Resampling.BILINEAR, box=box))


def _step(rgb: np.ndarray, step: str) -> np.ndarray:
    kind, _, value = step.partition(":")
    if kind == "mirror" and not value:
        return np.ascontiguousarray(rgb[:, ::-1])
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"not an enrolment copy: {step!r}") from None
    if kind == "rotate" and -45.0 <= number <= 45.0:
        return _rotate(rgb, number)
    if kind == "zoom" and 1.0 <= number <= 2.0:
        return _rotate(rgb, 0.0, number)
    raise ValueError(f"not an enrolment copy: {step!r}")


def check(specs: Sequence[str]) -> tuple[str, ...]:
    """The copy codes, validated (a ValueError names the first one that is not a copy)."""
    probe = np.zeros((8, 8, 3), np.uint8)
    for spec in specs:
        copy_of(probe, spec)
    return tuple(specs)


def copy_of(rgb: np.ndarray, spec: str) -> np.ndarray:
    """The H×W×3 uint8 copy of ``rgb`` that ``spec`` describes (same size as ``rgb``)."""
    out = np.asarray(rgb)
    for step in spec.split("+"):
        out = _step(out, step.strip())
    return np.ascontiguousarray(out)


__all__ = ["check", "copy_of"]
