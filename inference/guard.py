"""The input guard: is this image one the pack can be trusted on?

MagNet-style detectors around a pack's classifier, all ONNX (no TensorFlow at run time):

- ``reconstruction``: how far the image is from its reconstruction by the pack's convolutional
  autoencoder (trained on clean in-domain images). Adversarial noise and unfamiliar content are
  reconstructed badly.
- ``divergence``: Jensen-Shannon divergence between the classifier's outputs on the image and on
  its reconstruction. A verdict that the autoencoder's clean-up changes was fragile.
- ``squeeze``: feature squeezing (Xu et al. 2018): the largest L1 distance between the outputs on
  the image and on squeezed copies of it (bit-depth reduction, median filter).
- ``noise``: the image's *colour-noise floor*: the smallest, over ``patch``×``patch`` tiles, of the
  mean absolute Laplacian of the two chroma channels (YCbCr). Camera photos and JPEG files carry
  almost no fine colour detail (sensors and JPEG's 4:2:0 sampling smooth the chroma), so nearly every
  clean photo has a tile whose chroma is flat; gradient-sign attacks (FGSM, BIM, PGD) perturb the
  three channels independently at every pixel, which lifts that floor everywhere. It needs no model.
- ``ood``: the pack's out-of-domain score (its own threshold, from the manifest's ``ood`` block).

Each threshold was set on clean validation images at a stated false-alarm rate (the manifest
records both). When any detector fires the result is ``flagged`` (and always needs review), and
the *reformer* cleans the image and classifies it again, so the user sees both answers. The
reformer is the autoencoder's reconstruction, a strong JPEG re-compression, or the *purifier* (a
denoiser trained through the pack's classifier, its own ONNX file, optionally after a JPEG
re-compression); ``reformer`` in the manifest
names whichever restored the most attacked validation images when the guard was calibrated.

The guard works in "pixel space": float32 RGB in [0, 1] at the pack's input size, NHWC. The
classifier's normalised tensor is mapped back there with the manifest's own scale/mean/std, so the
guard needs no second decode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from inference.errors import InferenceError, ManifestError
from inference.guard_noise import (  # noqa: F401 - the noise detector's names are re-exported here
    _CHROMA, _channel_params, _chroma_floor, _tile_min, chroma_noise_floor, chroma_noise_floor_from_tensor)
from inference.guard_squeeze import (  # noqa: F401 - the squeezers' names are re-exported here
    _to_u8, apply_squeezer, jpeg_reform, median_residual, median_u8, squeeze_bits, squeeze_median)
from inference.manifest import DETECTORS, SQUEEZERS, InputSpec, Manifest
from inference.results import GuardVerdict

# Detectors that need extra classifier runs; with a screen they run only on screened images.
GATED = ("divergence", "squeeze")
# Detectors computed from the model tensor alone (no classifier output, no autoencoder).
PRE_MODEL = ("noise",)

@dataclass(frozen=True)
class DetectorSpec:
    """One detector: its threshold and the false-alarm rate it was set at."""

    name: str
    threshold: float
    false_alarm_rate: float
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GuardPolicy:
    """The manifest's ``guard`` block, typed."""

    autoencoder: str
    autoencoder_input: str
    autoencoder_output: str
    detectors: tuple[DetectorSpec, ...]
    false_alarm_rate: float | None
    reform: bool
    screen: float | None = None  # screen score above which the classifier-based detectors run
    reformer: Mapping[str, Any] = field(default_factory=lambda: {"kind": "autoencoder"})
    # What the screen measures (inference.manifest.SCREEN_SCORES): the reconstruction error, or
    # the median residual (:func:`median_residual`, a median filter of ``screen_size``: no model).
    screen_score: str = "reconstruction"
    screen_size: int = 3
    screen_aggregate: str = "mean"  # median_residual: over the image, or its floor over tiles
    screen_patch: int = 16

    @property
    def screen_needs_autoencoder(self) -> bool:
        return self.screen is not None and self.screen_score == "reconstruction"

    def detector(self, name: str) -> DetectorSpec | None:
        for d in self.detectors:
            if d.name == name:
                return d
        return None


def parse_guard(manifest: Manifest) -> GuardPolicy | None:
    """The pack's guard policy, or None when the pack has no guard."""
    raw = manifest.raw.get("guard")
    if not raw:
        return None
    dets = []
    for name in DETECTORS:
        d = raw["detectors"].get(name)
        if d is None:
            continue
        options = {k: v for k, v in d.items() if k not in ("threshold", "false_alarm_rate")}
        dets.append(DetectorSpec(name, float(d["threshold"]), float(d["false_alarm_rate"]), options))
    screen = raw.get("screen") or {}
    return GuardPolicy(
        autoencoder=raw["autoencoder"],
        autoencoder_input=raw.get("autoencoder_input", "input"),
        autoencoder_output=raw.get("autoencoder_output", "reconstruction"),
        detectors=tuple(dets),
        false_alarm_rate=raw.get("false_alarm_rate"),
        reform=bool(raw.get("reform", True)),
        screen=None if raw.get("screen") is None else float(screen["threshold"]),
        reformer=dict(raw.get("reformer") or {"kind": "autoencoder"}),
        screen_score=str(screen.get("score", "reconstruction")),
        screen_size=int(screen.get("size", 3)),
        screen_aggregate=str(screen.get("aggregate", "mean")),
        screen_patch=int(screen.get("patch", 16)),
    )


# -- pixel space <-> model tensor ------------------------------------------------------------------


def tensor_to_pixels(batch: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Model tensors (N, …) → RGB in [0, 1], NHWC: the inverse of :func:`inference.preprocess.to_tensor`."""
    x = np.asarray(batch, dtype=np.float32)
    if spec.layout == "NCHW":
        x = np.transpose(x, (0, 2, 3, 1))
    mean, std, unit = _channel_params(spec)
    x = (x * std + mean) / unit
    if spec.color == "BGR":
        x = x[..., ::-1]
    return np.clip(x, 0.0, 1.0).astype(np.float32)


def pixels_to_tensor(x01: np.ndarray, spec: InputSpec) -> np.ndarray:
    """RGB in [0, 1], NHWC → model tensors, exactly as the app's preprocessing would make them."""
    x = np.asarray(x01, dtype=np.float32)
    if spec.color == "BGR":
        x = x[..., ::-1]
    mean, std, unit = _channel_params(spec)
    x = (x * unit - mean) / std
    if spec.layout == "NCHW":
        x = np.transpose(x, (0, 3, 1, 2))
    return np.ascontiguousarray(x, dtype=np.float32)


# -- scores (the squeezers: inference.guard_squeeze) ------------------------------------------------


def reconstruction_error(x01: np.ndarray, recon: np.ndarray, norm: str = "l1", aggregate: str = "mean",
                         patch: int = 8) -> np.ndarray:
    """Per-image difference between images and their reconstructions.

    ``norm``: mean absolute (l1) or root-mean-square (l2) difference. ``aggregate``: over the whole
    image (``mean``), or the *smallest* over ``patch``×``patch`` tiles (``patch_min``): the image's
    noise floor. A dense perturbation such as FGSM's ±ε on every pixel lifts the floor everywhere,
    while a clean photo nearly always has some tile the autoencoder reproduces almost exactly, so
    the floor separates them far better than the mean, which textured clean images dominate.
    """
    d = np.asarray(x01, np.float64) - np.asarray(recon, np.float64)
    d = d * d if norm == "l2" else np.abs(d)
    if aggregate == "patch_min":
        v = _tile_min(d.mean(axis=-1), patch)
    else:
        v = d.reshape(len(d), -1).mean(axis=1)
    return np.sqrt(v) if norm == "l2" else v


def softmax(z: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(z, np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (natural log, in [0, ln 2]) between rows of ``p`` and ``q``."""
    p = np.clip(np.asarray(p, np.float64), 1e-12, 1.0)
    q = np.clip(np.asarray(q, np.float64), 1e-12, 1.0)
    m = 0.5 * (p + q)
    return 0.5 * (np.sum(p * np.log(p / m), axis=-1) + np.sum(q * np.log(q / m), axis=-1))


def l1_distance(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.sum(np.abs(np.asarray(p, np.float64) - np.asarray(q, np.float64)), axis=-1)


# -- calibration (used by training, tested here because the runtime trusts its output) --------------


def threshold_at_false_alarm_rate(clean_scores: Sequence[float], rate: float) -> float:
    """The threshold that lets ``rate`` of the clean scores exceed it (MagNet's convention).

    A score fires when it is strictly above the threshold; the threshold is the ``1 - rate``
    empirical quantile ("higher" interpolation, so at most ``rate`` of the clean scores exceed it).
    """
    s = np.asarray(clean_scores, dtype=np.float64)
    if s.size == 0:
        raise ValueError("no clean scores to calibrate on")
    if not 0.0 <= rate <= 1.0:
        raise ValueError("rate must be in [0, 1]")
    return float(np.quantile(s, 1.0 - rate, method="higher"))


def fired_any(scores: Mapping[str, np.ndarray], thresholds: Mapping[str, float],
              screen: float | None = None) -> np.ndarray:
    """Which images any detector flags. With a ``screen`` threshold, the classifier-based detectors
    (divergence, squeeze) only count where the reconstruction error exceeds it — as at run time,
    where they are not even computed elsewhere."""
    n = len(next(iter(scores.values())))
    fired = np.zeros(n, bool)
    gate = np.ones(n, bool)
    if screen is not None and "reconstruction" in scores:
        gate = np.asarray(scores["reconstruction"]) > screen
    for name, thr in thresholds.items():
        hit = np.asarray(scores[name]) > thr
        fired |= hit & gate if name in GATED else hit
    return fired


def joint_thresholds(clean: Mapping[str, Sequence[float]], target_rate: float, *, screen: float | None = None,
                     steps: int = 200) -> tuple[dict[str, float], float, float]:
    """Thresholds for several detectors so that *any* of them fires on at most ``target_rate`` of
    the clean images: every detector gets the same per-detector rate r, the largest r whose union
    stays within the target. Returns ``(thresholds, r, union rate)``."""
    arrays = {n: np.asarray(v, np.float64) for n, v in clean.items()}
    best: tuple[dict[str, float], float, float] | None = None
    for r in np.linspace(target_rate / len(arrays), target_rate, steps):
        thr = {n: threshold_at_false_alarm_rate(a, float(r)) for n, a in arrays.items()}
        union = float(fired_any(arrays, thr, screen).mean())
        if union <= target_rate + 1e-12:
            best = (thr, float(r), union)
    if best is None:
        r = target_rate / len(arrays)
        thr = {n: threshold_at_false_alarm_rate(a, r) for n, a in arrays.items()}
        best = (thr, r, float(fired_any(arrays, thr, screen).mean()))
    return best


# -- the runtime guard --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardOutcome:
    """What the guard found for one image."""

    verdict: GuardVerdict
    reconstruction_probs: np.ndarray | None  # the classifier's probabilities on the reconstruction


_WORDS = {
    "reconstruction": "the image carries fine noise or detail the pack's autoencoder does not reproduce",
    "divergence": "the verdict changes when the image is cleaned up by the autoencoder",
    "squeeze": "the verdict changes when the image is slightly simplified (feature squeezing)",
    "noise": "the image carries fine colour noise that camera photos do not have, as adversarial perturbations do",
    "ood": "the image does not look like the images this pack was trained on",
}


class Guard:
    """Runs a pack's guard detectors on a batch whose classifier outputs are already known.

    ``classify`` runs the pack's classifier on model tensors and returns ``{"probs": ...,
    "logits": ... (if the pack has them)}``; the Inspector passes its own session runner so the
    guard shares the cached session.
    """

    def __init__(self, manifest: Manifest, policy: GuardPolicy, autoencoder_session,
                 classify: Callable[[np.ndarray], Mapping[str, np.ndarray]], purifier_session=None) -> None:
        """``autoencoder_session`` is an onnxruntime session, or a function that makes one: then it
        is made (and checked) the first time the autoencoder runs. A guard whose detectors and
        reformer never reconstruct (noise-only, JPEG reformer: every shipped pack) never loads it."""
        self.manifest = manifest
        self.policy = policy
        self._session = None
        self._load_session = None
        if callable(autoencoder_session) and not hasattr(autoencoder_session, "run"):
            self._load_session = autoencoder_session
        else:
            self._set_session(autoencoder_session)
        self.purifier = purifier_session
        self.classify = classify
        # The short path from the uint8 pixels behind a tensor, for the JPEG reformer and median
        # squeezers (the same bits; inference.guard_pixels).
        from inference.guard_pixels import PixelPath

        self._pixel_path = PixelPath.for_spec(manifest.input)
        if purifier_session is not None:
            self._check_pixel_model(purifier_session, *self._purifier_names(), "purifier")
        elif policy.reformer.get("kind") == "purifier":
            raise ManifestError(f"Pack '{manifest.id}': the guard's reformer is a purifier, but none was loaded.")

    @property
    def needs_autoencoder(self) -> bool:
        """Whether checking an image can run the autoencoder (a detector or the reformer uses it)."""
        p = self.policy
        gated = bool(p.detector("divergence") or p.detector("squeeze"))
        return bool(p.detector("reconstruction") or p.detector("divergence") or (gated and p.screen_needs_autoencoder)
                    or (p.reform and p.reformer.get("kind", "autoencoder") == "autoencoder"))

    def _set_session(self, session) -> None:
        self._check_pixel_model(session, self.policy.autoencoder_input, self.policy.autoencoder_output, "autoencoder")
        self._session = session

    @property
    def session(self):
        """The autoencoder's session (made now if it was deferred)."""
        if self._session is None and self._load_session is not None:
            self._set_session(self._load_session())
            self._load_session = None
        return self._session

    def _purifier_names(self) -> tuple[str, str]:
        r = self.policy.reformer
        return str(r.get("input", "input")), str(r.get("output", "purified"))

    def _check_pixel_model(self, session, input_name: str, output_name: str, what: str) -> None:
        """The guard's own models take and give NHWC pixels at the pack's input size."""
        ins = {i.name: i for i in session.get_inputs()}
        outs = {o.name for o in session.get_outputs()}
        if input_name not in ins or output_name not in outs:
            raise ManifestError(
                f"Pack '{self.manifest.id}': the guard {what} has inputs {sorted(ins)} and outputs "
                f"{sorted(outs)}, but the manifest names '{input_name}' → '{output_name}'."
            )
        shape = ins[input_name].shape
        want = [self.manifest.input.height, self.manifest.input.width, 3]
        if len(shape) != 4 or any(isinstance(d, int) and d != w for d, w in zip(shape[1:], want)):
            raise ManifestError(
                f"Pack '{self.manifest.id}': the guard {what} takes {shape}, not NHWC {want} pixels."
            )

    def _run_pixel_model(self, session, input_name: str, output_name: str, x01: np.ndarray, what: str) -> np.ndarray:
        try:
            (out,) = session.run([output_name], {input_name: np.ascontiguousarray(x01, np.float32)})
        except Exception as exc:  # onnxruntime's own exception types
            raise InferenceError(f"The input guard of '{self.manifest.id}' failed to run: {exc}") from exc
        out = np.asarray(out, dtype=np.float32)
        if out.shape != x01.shape or not np.all(np.isfinite(out)):
            raise InferenceError(f"The input guard of '{self.manifest.id}' returned an invalid {what}.")
        return np.clip(out, 0.0, 1.0)

    def reconstruct(self, x01: np.ndarray) -> np.ndarray:
        """The autoencoder's reconstruction of pixel images (N, H, W, 3) in [0, 1]."""
        return self._run_pixel_model(self.session, self.policy.autoencoder_input, self.policy.autoencoder_output,
                                     x01, "reconstruction")

    def purify(self, x01: np.ndarray) -> np.ndarray:
        """The purifier's cleaned copies of pixel images (N, H, W, 3) in [0, 1]."""
        if self.purifier is None:
            raise InferenceError(f"The input guard of '{self.manifest.id}' has no purifier.")
        return self._run_pixel_model(self.purifier, *self._purifier_names(), x01, "purified image")

    def reform(self, x01: np.ndarray, reformer: Mapping[str, Any] | None = None) -> np.ndarray:
        """The reformer's cleaned copies of pixel images (see the module doc); ``reformer``
        overrides the pack's choice (calibration compares them)."""
        r = reformer or self.policy.reformer
        if r.get("mirror"):
            # A gradient-sign perturbation is made for the image's exact alignment with the
            # network's filters; mirrored, the photo means the same (the classifiers are trained
            # with flips) while the perturbation no longer lines up.
            x01 = np.ascontiguousarray(x01[:, :, ::-1])
        if r.get("kind") == "jpeg":
            return jpeg_reform(x01, int(r.get("quality", 20)))
        if r.get("kind") == "purifier":
            # The purifier may have been trained on JPEG re-compressed inputs: it then undoes what
            # JPEG leaves of the attack and of the compression itself.
            return self.purify(jpeg_reform(x01, int(r["jpeg_quality"])) if r.get("jpeg_quality") else x01)
        return self.reconstruct(x01)

    @property
    def takes_pixels(self) -> bool:
        """Whether the uint8 pixels behind the tensors would be used (a JPEG reformer in
        :meth:`reformed_tensors`, median squeezers in :meth:`scores`); the Inspector keeps them only then."""
        if self._pixel_path is None:
            return False
        p = self.policy
        squeeze = p.detector("squeeze")
        medians = squeeze is not None and not (p.detector("reconstruction") or p.detector("divergence")
                                               or p.screen_needs_autoencoder) and all(
            sq["kind"] == "median" for sq in squeeze.options.get("squeezers", [{"kind": "median"}]))
        return (p.reform and p.reformer.get("kind") == "jpeg") or medians

    @property
    def pre_model(self) -> bool:
        """Whether every detector works on the model tensor alone (:data:`PRE_MODEL`): the images it
        flags are then known before the classifier runs, so their reformed copies can ride in the
        same classifier run as the batch (:meth:`pre_scores`, :meth:`reformed_tensors`)."""
        return all(d.name in PRE_MODEL for d in self.policy.detectors)

    def pre_scores(self, batch: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """For a :attr:`pre_model` guard: the detectors' scores on a batch of model tensors, and the
        indices of the images they flag (those the reformer cleans)."""
        spec = self.manifest.input
        out: dict[str, np.ndarray] = {}
        fired = np.zeros(len(batch), bool)
        for d in self.policy.detectors:
            out[d.name] = chroma_noise_floor_from_tensor(batch, spec, int(d.options.get("patch", 16)))
            fired |= out[d.name] > d.threshold
        return out, np.flatnonzero(fired)

    def reformed_tensors(self, batch: np.ndarray, idx: Sequence[int],
                         pixels: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """The reformer's cleaned copies of ``batch[idx]``, as model tensors. ``pixels``: the
        model-size uint8 RGB images the whole batch's tensors were made from (``to_tensor``); with
        them a JPEG reformer skips the float round trip (:mod:`inference.guard_pixels`, same bits)."""
        spec = self.manifest.input
        r = self.policy.reformer
        if pixels is not None and self._pixel_path is not None and r.get("kind") == "jpeg":
            return self._pixel_path.jpeg_reform(np.stack([pixels[i] for i in idx]), int(r.get("quality", 20)),
                                                bool(r.get("mirror")))
        return pixels_to_tensor(self.reform(tensor_to_pixels(batch[list(idx)], spec)), spec)

    def scores(self, batch: np.ndarray, outputs: Mapping[str, np.ndarray],
               screen: bool = True, pixels: Sequence[np.ndarray] | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Raw detector scores for a batch of model tensors whose classifier ``outputs`` are known.

        Returns ``(scores, reconstruction_probs)``. One classifier run covers the reconstructions
        and every squeezed copy together. With a screen in the policy (and ``screen=True``), that
        run covers only the images whose reconstruction error is above the screen; the others get
        NaN for divergence and squeeze and no reconstruction probabilities (NaN rows). ``pixels``:
        as for :meth:`reformed_tensors` (median squeezers then start from them, the same bits).
        """
        spec = self.manifest.input
        p = self.policy
        n = len(batch)
        out: dict[str, np.ndarray] = {}
        noise = p.detector("noise")
        if noise:
            out["noise"] = chroma_noise_floor_from_tensor(batch, spec, int(noise.options.get("patch", 16)))
        rec = p.detector("reconstruction")
        div, squeeze = p.detector("divergence"), p.detector("squeeze")
        recon_probs = np.full(np.shape(outputs["probs"]), np.nan)
        gated = bool(div or squeeze)
        if not (rec or gated):
            return out, recon_probs
        # The autoencoder runs only where a detector needs it (it is the guard's largest cost).
        use_screen = gated and screen and p.screen is not None
        ae_screen = use_screen and p.screen_score == "reconstruction"
        squeezers = list(squeeze.options.get("squeezers", [{"kind": "median", "size": 3}])) if squeeze else []
        from_pixels = (pixels is not None and self._pixel_path is not None and not (rec or div or ae_screen)
                       and all(sq["kind"] == "median" for sq in squeezers))
        x01 = None if from_pixels else tensor_to_pixels(batch, spec)
        recon = recon_err = None
        if rec or div or ae_screen:
            recon = self.reconstruct(x01)
            opts = rec.options if rec else {}
            recon_err = reconstruction_error(x01, recon, opts.get("norm", "l1"), opts.get("aggregate", "mean"),
                                             int(opts.get("patch", 8)))
            if rec:
                out["reconstruction"] = recon_err
        if not gated:
            # Nothing needs the classifier again; the reformer (check) runs on flagged images only.
            return out, recon_probs
        filtered: dict[int, np.ndarray] = {}  # median size → the batch's filtered uint8 images
        if use_screen and not ae_screen:
            # The median residual screen: the filter the median squeezer would run anyway, on
            # every image; only the images above the threshold go through the classifier again.
            u8 = np.stack(pixels) if from_pixels else _to_u8(x01)
            filtered[p.screen_size] = median_u8(u8, p.screen_size)
            idx = np.flatnonzero(median_residual(u8, filtered[p.screen_size], p.screen_aggregate,
                                                        p.screen_patch) > p.screen)
        else:
            idx = np.flatnonzero(recon_err > p.screen) if use_screen else np.arange(n)
        if div:
            out["divergence"] = np.full(n, np.nan)
        if squeeze:
            out["squeeze"] = np.full(n, np.nan)
        if len(idx) == 0:
            return out, recon_probs
        m = len(idx)
        def median_of(size: int) -> np.ndarray:  # the screened images' median-filtered uint8 copies
            if size in filtered:
                return filtered[size][idx]
            return median_u8(np.stack([pixels[i] for i in idx]) if from_pixels else _to_u8(x01[idx]), size)

        if from_pixels:  # median-filtered uint8 pixels straight to tensors
            tensors = np.concatenate([self._pixel_path.tensors(median_of(int(sq.get("size", 3)))) for sq in squeezers])
        else:
            variants = [recon[idx]] if recon is not None else []
            for sq in squeezers:
                size = int(sq.get("size", 3))
                variants.append(median_of(size) / np.float32(255.0) if sq["kind"] == "median" and size in filtered
                                else apply_squeezer(x01[idx], sq))
            tensors = pixels_to_tensor(np.concatenate(variants), spec)
        extra = self.classify(tensors)
        probs_all = np.asarray(extra["probs"], np.float64)
        probs0 = np.asarray(outputs["probs"], np.float64)[idx]
        first = 0
        if recon is not None:
            recon_probs[idx] = probs_all[:m]
            first = m
        if div:
            t = float(div.options.get("temperature", 1.0))
            if "logits" in outputs and "logits" in extra:
                pa = softmax(np.asarray(outputs["logits"])[idx], t)
                pb = softmax(np.asarray(extra["logits"])[:m], t)
            else:
                pa, pb = probs0, probs_all[:m]
            out["divergence"][idx] = js_divergence(pa, pb)
        if squeeze:
            dists = [l1_distance(probs0, probs_all[first + k * m:first + (k + 1) * m]) for k in range(len(squeezers))]
            out["squeeze"][idx] = np.max(np.stack(dists), axis=0)
        return out, recon_probs

    def check(self, batch: np.ndarray, outputs: Mapping[str, np.ndarray],
              ood: Sequence[tuple[float, float] | None] | None = None, *,
              pre: tuple[Mapping[str, np.ndarray], Mapping[int, np.ndarray]] | None = None,
              pixels: Sequence[np.ndarray] | None = None) -> list[GuardOutcome]:
        """The trust verdict per image. ``ood`` gives (score, threshold) per image when the pack
        scores out-of-domain inputs, so the OOD detector joins the others. ``pre``: for a
        :attr:`pre_model` guard, its :meth:`pre_scores` and the classifier's probabilities on the
        reformed copies already run (image index → probabilities), so nothing is computed twice.
        ``pixels``: as for :meth:`reformed_tensors`."""
        if pre is not None:
            scores = dict(pre[0])
            recon_probs = np.full(np.shape(outputs["probs"]), np.nan)
            already = {int(i): np.asarray(p, np.float64) for i, p in pre[1].items()}
        else:
            scores, recon_probs = self.scores(batch, outputs, pixels=pixels)
            already = {}
        results = []
        adversarial: list[int] = []  # images a detector other than OOD flagged
        for i in range(len(batch)):
            ratios: dict[str, float] = {}
            values: dict[str, float] = {}
            rates: dict[str, float] = {}
            for d in self.policy.detectors:
                v = float(scores[d.name][i])
                if np.isnan(v):  # screened out: not computed for this image
                    continue
                values[d.name] = v
                rates[d.name] = d.false_alarm_rate
                ratios[d.name] = v / d.threshold if d.threshold > 0 else (np.inf if v > 0 else 0.0)
            if ood is not None and ood[i] is not None:
                s, thr = ood[i]
                values["ood"] = float(s)
                ratios["ood"] = _ratio_signed(s, thr)
            reasons = []
            for name, r in sorted(ratios.items(), key=lambda kv: -kv[1]):
                if r > 1.0:
                    rate = rates.get(name)
                    at = f", threshold set at {100 * rate:.0f}% false alarms on clean images" if rate is not None else ""
                    reasons.append(f"{name}: {_WORDS[name]} ({r:.1f}× its threshold{at})")
            flagged = bool(reasons)
            if any(r > 1.0 for name, r in ratios.items() if name != "ood"):
                adversarial.append(i)
            verdict = GuardVerdict(
                flagged=flagged,
                score=float(max(ratios.values())) if ratios else 0.0,
                reasons=tuple(reasons),
                false_alarm_rate=rates,
                detectors=values,
            )
            results.append(GuardOutcome(verdict, None))
        # The reformer: every image an adversarial detector flagged is cleaned and classified again
        # (the autoencoder's reconstructions of screened images already were). Not for an image
        # only the out-of-domain check flagged: cleaning does not make it a photo of the domain, and
        # a second answer would contradict the refusal.
        if self.policy.reform:
            for i, probs in already.items():  # reformed copies classified in the batch's own run
                recon_probs[i] = probs
            todo = [i for i in adversarial if i not in already
                    and (self.policy.reformer.get("kind") != "autoencoder" or np.isnan(recon_probs[i]).any())]
            if todo:
                probs = np.asarray(self.classify(self.reformed_tensors(batch, todo, pixels))["probs"], np.float64)
                for k, i in enumerate(todo):
                    recon_probs[i] = probs[k]
            for i in adversarial:
                results[i] = GuardOutcome(results[i].verdict, np.asarray(recon_probs[i]))
        return results


def _ratio_signed(score: float, threshold: float) -> float:
    """score / threshold for positive thresholds; for scores that may be negative (energy), the
    ratio is measured from a shifted origin so that 1.0 still means "at the threshold"."""
    if threshold > 0:
        return float(score) / threshold
    return 1.0 + (float(score) - threshold) / max(abs(threshold), 1.0)
