"""The Inspector: runs one pack on images and turns its outputs into :class:`InspectionResult`s.

Preprocessing, the decision policy and out-of-domain scoring are all read from the manifest, so a
new pack needs a folder, not code. Sessions are cached per (model file and its SHA-256s, provider
preference) and made from the bytes that were hashed (:meth:`Pack.read_model`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Iterable, Iterator, Sequence

import numpy as np
from PIL import Image

from inference.batching import iter_prefetched, iter_serial, prefetch_enabled
from inference.content import content_stats
from inference.errors import ImageReadError, InferenceError, ManifestError, PackUnusableError, TilikError
from inference.guard import Guard, GuardOutcome, parse_guard
from inference.imageio import DecodedImage, ImageSource, load_image
from inference.manifest import Manifest
from inference.preprocess import Geometry, fit_to_input, reduction_factor, to_tensor
from inference.providers import LoadedSession, create_session, display_name, intra_op_threads
from inference.registry import Pack, PackRegistry
from inference.results import (DECIDED, REFUSED, REVIEW, ClassScore, InspectionResult, MitigatedVerdict,
                               ReviewReason, Timings, Verdict)
from inference.wording import SUBJECTS, TEMPLATES, headline, reason_text, refusal_note

_SESSION_CACHE: dict[tuple, LoadedSession] = {}
_CACHE_LOCK = threading.Lock()


def get_session(pack: Pack, role: str = "model", provider: str | None = None, *,
                low_memory: bool = False) -> LoadedSession:
    """A cached onnxruntime session for the pack's ONNX file ``role`` ("model" or an extra_files key).

    A new session gets the bytes read and hashed once (never the path): a file swapped after the
    pack was checked fails its hash here instead of running. A cached one ran bytes with these hashes.
    ``low_memory``: see :func:`inference.providers.create_session`.
    """
    ref = pack.file_ref(role)
    threads = intra_op_threads()  # part of the key: a changed setting gets a new session
    key = (str(pack.file_path(ref.file).resolve()), ref.sha256, tuple(e.sha256 for e in ref.external_data), provider,
           threads, low_memory)
    with _CACHE_LOCK:
        loaded = _SESSION_CACHE.get(key)
        if loaded is None:
            data = pack.read_model(role)
            loaded = create_session(data.model, provider, external_data=data.external_data, name=data.name,
                                    threads=threads, low_memory=low_memory)
            _SESSION_CACHE[key] = loaded
        return loaded


def clear_session_cache() -> None:
    with _CACHE_LOCK:
        _SESSION_CACHE.clear()


def _softmax_energy(logits: np.ndarray, temperature: float) -> np.ndarray:
    z = logits / temperature
    m = z.max(axis=-1, keepdims=True)
    return -temperature * (m[..., 0] + np.log(np.exp(z - m).sum(axis=-1)))


@dataclass(frozen=True)
class BatchItem:
    """One input of a batch: its result, or the error that stopped it."""

    source: str
    result: InspectionResult | None
    error: TilikError | None
    # RGB at most Inspector.preview_px a side, made from the decoded pixels before they were
    # dropped (``--heatmap-dir`` draws on it instead of decoding the photo again); else None.
    preview: np.ndarray | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None


@dataclass(frozen=True)
class _ImageFacts:
    """What a result needs of its decoded image once the tensor exists: not the pixels, which are
    dropped at once (a batch of 12-MP photos would otherwise hold 36 MB each until it runs)."""

    source: str
    sha256: str
    width: int
    height: int
    notes: tuple[str, ...]
    original_size: tuple[int, int]  # before a reduced decode (what the record states)

    @classmethod
    def of(cls, image: DecodedImage) -> "_ImageFacts":
        return cls(image.source, image.sha256, image.width, image.height, image.notes, image.original_size)


def preview_rgb(rgb: np.ndarray, max_px: int) -> np.ndarray:
    """An RGB copy with its longer side at most ``max_px`` (Pillow's reducing resize: a box
    reduction by an integer factor, then bilinear, so a 12-MP photo takes a few ms)."""
    h, w = rgb.shape[:2]
    if max(h, w) <= max_px:
        return rgb
    s = max_px / max(h, w)
    img = Image.fromarray(np.ascontiguousarray(rgb))
    return np.asarray(img.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BILINEAR,
                                 reducing_gap=2.0))


@dataclass
class _Prepared:
    image: _ImageFacts
    tensor: np.ndarray
    geometry: Geometry
    decode_ms: float
    preprocess_ms: float
    content_problem: str | None = None
    preview: np.ndarray | None = None
    # The model-size uint8 pixels the tensor was made from (150 KB at 224 px), kept only for a
    # guard whose JPEG reformer can start from them instead of mapping the tensor back.
    fitted: np.ndarray | None = None


def anomaly_heat(distances: np.ndarray, threshold: float) -> np.ndarray:
    """A profile's patch distances as a heatmap in [0, 1]: the photo's own typical patch is cold and
    the profile's threshold is full heat. Raw distances (0.5-0.9 almost everywhere) drew a uniform
    wash over the whole photo that pointed nowhere; this shows where the photo departs most."""
    distances = np.asarray(distances, dtype=np.float32)
    base = float(np.median(distances))
    span = max(float(threshold) - base, 1e-6)
    return np.clip((distances - base) / span, 0.0, 1.0).astype(np.float32)


class Inspector:
    """Classify images with one pack.

    >>> inspector = Inspector.for_pack("skin-binary")      # doctest: +SKIP
    >>> result = inspector.classify("lesion.jpg")          # doctest: +SKIP
    """

    def __init__(self, pack: Pack, provider: str | None = None, *, use_guard: bool = True) -> None:
        """``use_guard=False`` skips the pack's input guard; only benchmarks and the guard's own
        calibration use it (the app and the CLI always run the guard a pack has)."""
        self.pack = pack
        self.manifest: Manifest = pack.require_usable()
        if self.manifest.task != "classify":
            raise PackUnusableError(
                f"Pack '{pack.id}' is a '{self.manifest.task}' pack; it cannot classify single images."
            )
        # A pack that caps its batch (runtime.max_batch) does so for memory: its session also runs
        # without onnxruntime's memory pattern, which doubles the peak from the second run on.
        self.loaded = get_session(pack, "model", provider, low_memory=bool(self._runtime().get("max_batch")))
        self._check_signature()
        self._batchable = self._input_batch_dim_is_dynamic()
        self.guard: Guard | None = self._load_guard(provider) if use_guard else None
        # When set, every BatchItem carries a preview of its image at most this many px a side.
        self.preview_px: int | None = None
        # A seal profile judging every photo (issue 25; see use_profile).
        self.profile = None

    @classmethod
    def for_pack(cls, pack_id: str, registry: PackRegistry | None = None, provider: str | None = None) -> "Inspector":
        return cls((registry or PackRegistry()).get(pack_id), provider)

    # -- set-up checks -------------------------------------------------------------------------
    def _check_signature(self) -> None:
        m = self.manifest
        session = self.loaded.session
        inputs = {i.name: i for i in session.get_inputs()}
        if m.input.name not in inputs:
            raise PackUnusableError(
                f"Pack '{m.id}': the model has no input named '{m.input.name}' "
                f"(it has: {', '.join(inputs)})."
            )
        shape = inputs[m.input.name].shape
        expected = ([m.input.height, m.input.width, m.input.channels] if m.input.layout == "NHWC"
                    else [m.input.channels, m.input.height, m.input.width])
        if len(shape) != 4 or any(isinstance(d, int) and d != e for d, e in zip(shape[1:], expected)):
            raise PackUnusableError(
                f"Pack '{m.id}': the model's input shape {shape} does not match the manifest "
                f"({m.input.layout} {m.input.height}×{m.input.width}×{m.input.channels})."
            )
        outputs = {o.name: o for o in session.get_outputs()}
        for role, name in m.outputs.items():
            if name not in outputs:
                raise PackUnusableError(
                    f"Pack '{m.id}': the manifest names output '{name}' ({role}) but the model has "
                    f"only {', '.join(outputs)}."
                )
        probs_shape = outputs[m.outputs["probs"]].shape
        if len(probs_shape) != 2 or (isinstance(probs_shape[1], int) and probs_shape[1] != len(m.classes)):
            raise PackUnusableError(
                f"Pack '{m.id}': the model gives {probs_shape[-1]} probabilities but the manifest "
                f"lists {len(m.classes)} classes."
            )
        if "patch_features" in m.outputs:
            shape = outputs[m.outputs["patch_features"]].shape
            if len(shape) != 4 or not all(isinstance(d, int) and d > 0 for d in shape[1:]):
                raise PackUnusableError(
                    f"Pack '{m.id}': its patch_features output must be N×H×W×C with a fixed height, width "
                    f"and channels; the model gives {shape}.")
        self._set_outputs(with_patch_features=False)

    def _set_outputs(self, with_patch_features: bool) -> None:
        # The patch features are fetched only when a profile judges (a copy per image otherwise).
        roles = [r for r in self.manifest.outputs if r != "patch_features" or with_patch_features]
        self._roles = roles
        self._output_names = [self.manifest.outputs[r] for r in roles]

    def use_profile(self, profile) -> None:
        """Judge every photo with ``profile`` (an :class:`inference.profiles.Profile`; None: the
        classifier alone). Raises ProfileError when this pack cannot use it."""
        if profile is not None:
            from inference.profiles.store import ProfileError

            m = self.manifest
            if "patch_features" not in m.outputs:
                raise ProfileError(f"The pack '{m.id}' gives no patch features, so seal profiles cannot judge "
                                   "with it (its manifest has no outputs.patch_features).")
            if profile.retired:
                raise ProfileError(f"The profile '{profile.name}' is retired: it no longer judges photos.",
                                   code="profile_retired", params={"name": profile.name})
            profile.check_model(m.id, m.model.sha256, m.version)
        self.profile = profile
        self._set_outputs(with_patch_features=profile is not None)

    def _load_guard(self, provider: str | None) -> Guard | None:
        try:
            policy = parse_guard(self.manifest)
            if policy is None:
                return None
            def session_of(role: str):
                return get_session(self.pack, role, provider).session

            # The purifier is loaded (and its hash checked) with the pack, not at the first flagged image.
            purifier = session_of(policy.reformer["model"]) if policy.reformer.get("kind") == "purifier" else None
            guard = Guard(self.manifest, policy, lambda: session_of(policy.autoencoder), self._classifier_outputs,
                          purifier)
            if guard.needs_autoencoder:
                guard.session  # noqa: B018 - loaded (and its hash checked) with the pack, as the purifier
            # else: no detector and no reformer of this pack ever runs it; a caller that does
            # (calibration: Guard.reconstruct) loads it then, from the checked bytes.
            return guard
        except ManifestError as exc:
            raise PackUnusableError(f"Pack '{self.manifest.id}' has a broken input guard: {exc}") from exc

    def _classifier_outputs(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """probs (and logits when the pack has them) only: what the guard's extra runs need."""
        roles = [r for r in ("probs", "logits") if r in self.manifest.outputs]
        try:
            arrays = self.loaded.session.run([self.manifest.outputs[r] for r in roles],
                                             {self.manifest.input.name: batch})
        except Exception as exc:  # onnxruntime's own exception types
            raise InferenceError(f"The model '{self.manifest.id}' failed to run: {exc}") from exc
        return dict(zip(roles, arrays))

    def _runtime(self) -> dict:
        return self.manifest.raw.get("runtime") or {}

    def _input_batch_dim_is_dynamic(self) -> bool:
        for i in self.loaded.session.get_inputs():
            if i.name == self.manifest.input.name:
                return not isinstance(i.shape[0], int)
        return False

    @property
    def provider(self) -> str:
        return display_name(self.loaded.provider)

    def _shrink(self, width: int, height: int) -> int:
        return reduction_factor(width, height, self.manifest.input)

    # -- public API ----------------------------------------------------------------------------
    def classify(self, image: ImageSource, *, name: str | None = None) -> InspectionResult:
        """Classify one image (path, bytes, numpy RGB array or DecodedImage)."""
        t0 = time.perf_counter()
        prepared = self._prepare(image, name)
        return self._run([prepared], t0)[0]

    def classify_batch(self, images: Sequence[ImageSource], *, batch_size: int = 16,
                       names: Sequence[str] | None = None) -> list[BatchItem]:
        """Classify many images; decoding errors are per item and do not stop the batch."""
        return list(self.iter_batch(images, batch_size=batch_size, names=names))

    def iter_batch(self, images: Iterable[ImageSource], *, batch_size: int = 16,
                   names: Sequence[str] | None = None) -> Iterator[BatchItem]:
        """Yield a :class:`BatchItem` per input, in order, running the model ``batch_size`` at a time.

        With prefetch on (:func:`prefetch_enabled`), worker threads (two on a two-core machine) decode
        and prepare the next batch's images while this thread runs the model on the current one
        (Pillow and onnxruntime release the GIL). Closing the iterator early stops the workers; they
        finish at most the images they are preparing.
        """
        # The pack may cap the batch (manifest runtime.max_batch) to keep peak memory down.
        cap = int(self._runtime().get("max_batch") or batch_size)
        size = max(1, min(batch_size, cap)) if self._batchable else 1
        run = iter_prefetched if prefetch_enabled() else iter_serial
        return run(images, size, names, self._prepare, self._flush, _failed)

    # -- internals -----------------------------------------------------------------------------
    def _flush(self, pending: list[tuple[int, str, _Prepared]], done: dict[int, BatchItem]) -> None:
        if not pending:
            return
        t0 = time.perf_counter()
        try:
            results = self._run([p for _, _, p in pending], t0, include_prepare=False)
            for (index, label, p), result in zip(pending, results):
                done[index] = BatchItem(label, result, None, p.preview)
        except TilikError as exc:
            for index, label, _ in pending:
                done[index] = BatchItem(label, None, exc)
        pending.clear()

    def _prepare(self, image: ImageSource, name: str | None) -> _Prepared:
        t0 = time.perf_counter()
        # Decoded only as large as this pack needs (a 12-MP photo at 1/4 or 1/8 for a 224-px model).
        decoded = load_image(image, name=name, shrink=self._shrink)
        t1 = time.perf_counter()
        fitted, geometry = fit_to_input(decoded.rgb, self.manifest.input)
        tensor = to_tensor(fitted, self.manifest.input)
        # Checked on what the model sees (already small): as telling for a blank or noise frame as
        # the full photo, without a second pass over millions of pixels.
        problem = content_stats(fitted).problem_code
        preview = preview_rgb(decoded.rgb, self.preview_px) if self.preview_px else None
        t2 = time.perf_counter()
        # Only the facts and the tensor are kept: the decoded pixels go now, not after the batch.
        keep = fitted if self.guard is not None and self.guard.takes_pixels else None
        return _Prepared(_ImageFacts.of(decoded), tensor, geometry, (t1 - t0) * 1e3, (t2 - t1) * 1e3,
                         problem, preview, keep)

    def run_tensors(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run the model on a preprocessed batch; returns role → array (probs, cam, ...)."""
        try:
            arrays = self.loaded.session.run(self._output_names, {self.manifest.input.name: batch})
        except Exception as exc:  # onnxruntime raises its own types (Fail, InvalidArgument, ...)
            raise InferenceError(f"The model '{self.manifest.id}' failed to run: {exc}") from exc
        out = dict(zip(self._roles, arrays))
        probs = out["probs"]
        if probs.shape != (batch.shape[0], len(self.manifest.classes)) or not np.all(np.isfinite(probs)):
            raise InferenceError(
                f"The model '{self.manifest.id}' returned invalid probabilities (shape {probs.shape}, "
                "or not finite numbers)."
            )
        return out

    def _run(self, prepared: list[_Prepared], t0: float, include_prepare: bool = True) -> list[InspectionResult]:
        batch = np.stack([p.tensor for p in prepared])
        n = len(prepared)
        pre = None
        guard_ms = 0.0
        run_batch = batch
        fitted = [p.fitted for p in prepared]
        pixels = fitted if all(f is not None for f in fitted) else None
        if self.guard is not None and self.guard.pre_model and self.guard.policy.reform:
            # The guard's detectors need only the tensor: the images it flags are known now, and
            # their reformed copies join this classifier run instead of a second, small one
            # (onnxruntime's outputs per image do not depend on the batch: a test pins it).
            t_guard = time.perf_counter()
            scores, flagged = self.guard.pre_scores(batch)
            if len(flagged):
                run_batch = np.concatenate([batch, self.guard.reformed_tensors(batch, flagged, pixels)])
            pre = (scores, flagged)
            guard_ms = (time.perf_counter() - t_guard) * 1e3 / n
        t_run = time.perf_counter()
        out = self.run_tensors(run_batch)
        if len(run_batch) > n:
            extra_probs = out["probs"][n:]
            out = {k: v[:n] for k, v in out.items()}
            pre = (pre[0], {int(i): extra_probs[k] for k, i in enumerate(pre[1])})
        elif pre is not None:
            pre = (pre[0], {})
        run_ms = (time.perf_counter() - t_run) * 1e3 / n
        ood_scores = self._ood_scores(out)
        outcomes: list[GuardOutcome | None] = [None] * n
        if self.guard is not None:
            t_guard = time.perf_counter()
            ood = None if ood_scores is None else [(float(v), self._ood_threshold(out["probs"][i]))
                                                   for i, v in enumerate(ood_scores)]
            outcomes = self.guard.check(batch, out, ood, pre=pre, pixels=pixels)
            guard_ms += (time.perf_counter() - t_guard) * 1e3 / n
        judged = maps = None
        if self.profile is not None:
            from inference.profiles.judge import MAP_AT_THRESHOLD, judge

            t_profile = time.perf_counter()
            p_alarm = np.array([self._choose(p)[1] for p in out["probs"]], dtype=np.float64)
            judged, maps = judge(self.profile, out["patch_features"], p_alarm)
            run_ms += (time.perf_counter() - t_profile) * 1e3 / len(prepared)
        results = []
        for i, p in enumerate(prepared):
            heatmap = None
            if maps is not None:
                # The anomaly map is the heatmap: where the photo departs from the enrolled seals,
                # brought to the model's input size like the cam (so heatmap_geometry applies).
                from inference.preprocess import resize_float

                # judge() scales every map so the profile's distance threshold is MAP_AT_THRESHOLD.
                heat = anomaly_heat(maps[i], MAP_AT_THRESHOLD)
                heatmap = resize_float(heat, self.manifest.input.width, self.manifest.input.height)
            elif "cam" in out:
                # The map stays at model size (a copy: a view would keep the whole batch's
                # output alive); heatmap_image() lays it on the image only when one is drawn.
                cam = np.array(out["cam"][i], dtype=np.float32)
                heatmap = cam[..., 0].copy() if cam.ndim == 3 else cam
            embedding = np.asarray(out["embedding"][i], dtype=np.float32) if "embedding" in out else None
            total = p.decode_ms + p.preprocess_ms + run_ms + guard_ms
            if include_prepare:
                total = (time.perf_counter() - t0) * 1e3
            timings = Timings(p.decode_ms, p.preprocess_ms, run_ms, total, guard_ms)
            results.append(self._decide(p.image, out["probs"][i], heatmap, embedding,
                                        None if ood_scores is None else float(ood_scores[i]), timings,
                                        p.content_problem, outcomes[i], p.geometry,
                                        None if judged is None else judged[i]))
        return results

    def _ood_scores(self, out: dict[str, np.ndarray]) -> np.ndarray | None:
        policy = self.manifest.ood
        if policy is None:
            return None
        if policy.score == "output":
            return np.asarray(out["ood_score"], dtype=np.float64).reshape(len(out["probs"]), -1)[:, 0]
        if policy.score == "energy":
            return _softmax_energy(np.asarray(out["logits"], dtype=np.float64), policy.temperature)
        return 1.0 - np.asarray(out["probs"], dtype=np.float64).max(axis=1)

    def _decide(self, image: _ImageFacts, probs: np.ndarray, heatmap: np.ndarray | None,
                embedding: np.ndarray | None, ood_score: float | None, timings: Timings,
                content_problem: str | None = None, guard: GuardOutcome | None = None,
                geometry: Geometry | None = None, profile=None) -> InspectionResult:
        m = self.manifest
        policy = m.decision
        names = m.class_names
        probs = np.asarray(probs, dtype=np.float64)
        order = np.argsort(-probs, kind="stable")
        chosen, p_alarm = self._choose(probs)
        reasons: list[ReviewReason] = []
        notes: list[ReviewReason] = []
        if profile is not None:
            chosen, profile_reasons, notes = self._profile_decision(probs, p_alarm, chosen, profile)
            reasons.extend(profile_reasons)
        elif m.training_data == "synthetic":
            notes.append(ReviewReason("synthetic_training"))
        label = names[chosen]
        confidence = float(probs[chosen])
        if profile is None and policy.review_band is not None and policy.alarming:
            low, high = policy.review_band
            if low <= p_alarm < high:
                reasons.append(ReviewReason("review_band", {
                    "classes": list(policy.alarming), "labels": [m.class_label(n) for n in policy.alarming],
                    "p": p_alarm, "low": float(low), "high": float(high)}))
        if profile is None and policy.min_confidence is not None and confidence < policy.min_confidence:
            reasons.append(ReviewReason("low_confidence", {"p": confidence, "minimum": float(policy.min_confidence)}))
        refusal: ReviewReason | None = None
        if content_problem is not None:
            # Feature-space scores cannot see this (a grey frame can sit next to a class mean).
            refusal = ReviewReason(content_problem)
        elif profile is None and ood_score is not None and m.ood is not None and ood_score > self._ood_threshold(probs):
            # (With a seal profile the site's own enrolled seals define the domain, and the profile
            # judges departures from them: the pack's check, fitted to its training renders,
            # refused 30-45% of another renderer's seal photos (benchmarks/profiles.py).)
            refusal = ReviewReason("out_of_domain", {"score": float(ood_score),
                                                     "threshold": float(self._ood_threshold(probs))})
        if refusal is not None:
            # A refusal names no class, so reasons about class probabilities do not apply to it.
            reasons = [refusal]
        out_of_domain = refusal is not None
        mitigated = None
        if guard is not None and guard.verdict.flagged:
            detectors = [r.split(":", 1)[0] for r in guard.verdict.reasons]
            # The guard's own out-of-domain detector repeats a refusal: said once, by the refusal.
            detectors = [d for d in detectors if not (out_of_domain and d == "ood")]
            if detectors:
                reasons.append(ReviewReason("guard_flagged", {"detectors": detectors}))
            if self.guard is not None and self.guard.policy.reform and guard.reconstruction_probs is not None:
                r_idx, _ = self._choose(guard.reconstruction_probs)
                mitigated = MitigatedVerdict(names[r_idx], float(guard.reconstruction_probs[r_idx]))
        if out_of_domain and policy.alarming:
            # A refusal names no class, but on a pack that raises alarms its silence reads as the calm
            # answer; the note says it is not, the same whatever the (untrusted) probabilities were.
            notes.append(refusal_note(names, list(policy.alarming), m.class_label))
        k = min(policy.top_k, len(names))
        top = tuple(ClassScore(names[i], m.class_label(names[i]), float(probs[i])) for i in order[:k])
        outcome = REFUSED if out_of_domain else (REVIEW if reasons else DECIDED)
        refused = outcome == REFUSED
        alarm = policy.alarm_threshold is not None and bool(policy.alarming)
        words = m.words
        decision = Verdict(
            outcome=outcome, label=None if refused else label,
            words=None if refused else policy.verdict_words.get(label, m.class_label(label)),
            probability=None if refused else confidence, reasons=tuple(reasons), refusal=refusal,
            basis="alarm" if alarm else "top_class", score=p_alarm if alarm else None,
            threshold=float(policy.alarm_threshold) if alarm else None,
            risk_label=(words.get("risk") or TEMPLATES["risk_default"].format(
                labels=" / ".join(m.class_label(n) for n in policy.alarming))) if alarm else "",
            subject=words.get("subject") or SUBJECTS.get(m.mode, SUBJECTS["general"]), notes=tuple(notes))
        if profile is not None and not refused:
            decision = replace(decision, basis="profile", score=profile.anomaly_score, threshold=profile.threshold)
        display = "" if refused else m.class_label(label)
        return InspectionResult(
            source=image.source,
            label=None if refused else label,
            display_label=display,
            verdict=headline(decision),
            confidence=None if refused else confidence,
            probabilities=dict(zip(names, np.asarray(probs, np.float64).tolist())),
            top_k=top,
            alarming=not refused and label in policy.alarming,
            needs_review=bool(reasons),
            review_reasons=tuple(reason_text(r) for r in reasons),
            out_of_domain=out_of_domain,
            ood_score=ood_score,
            heatmap=heatmap,
            embedding=embedding,
            pack_id=m.id,
            pack_version=m.version,
            pack_sha256=m.model.sha256,
            manifest_sha256=m.sha256,
            provider=self.provider,
            image_sha256=image.sha256,
            image_size=image.original_size,
            image_notes=image.notes,
            timings=timings,
            guard=None if guard is None else guard.verdict,
            mitigated=mitigated,
            heatmap_geometry=geometry if heatmap is not None else None,
            decision=decision,
            model_label=label,
            profile=profile,
        )

    def _profile_decision(self, probs: np.ndarray, p_alarm: float, chosen: int, profile
                          ) -> tuple[int, list[ReviewReason], list[ReviewReason]]:
        """The class a seal profile's verdict names, the review reason when the classifier
        disagrees, and the note naming the profile (inference.profiles.judge.combine)."""
        from inference.profiles.judge import combine

        policy = self.manifest.decision
        names = self.manifest.class_names
        alarming = [names.index(n) for n in policy.alarming]
        calm = [i for i in range(len(names)) if i not in alarming]
        threshold = policy.alarm_threshold if policy.alarm_threshold is not None else 0.5
        classifier_alarm = bool(alarming) and p_alarm >= threshold
        damaged, review = combine(profile, classifier_alarm)
        if alarming and calm:
            chosen = max(alarming if damaged else calm, key=lambda i: probs[i])
        ident = {"name": profile.name, "id": profile.id, "hash": profile.sha256}
        reasons = []
        if review:
            reasons.append(ReviewReason("profile_disagrees", {
                **ident, "classifier": "alarm" if classifier_alarm else "calm",
                "labels": [self.manifest.class_label(n) for n in policy.alarming], "classes": list(policy.alarming),
                "p": p_alarm, "threshold": float(threshold)}))
        notes = [ReviewReason("profile_judged", {**ident, "score": profile.anomaly_score,
                                                 "threshold": profile.threshold})]
        return chosen, reasons, notes

    def _ood_threshold(self, probs: np.ndarray) -> float | None:
        """The out-of-domain threshold for this image: the manifest's ``alarm_threshold`` when the
        decision policy sends it to an alarming class (and the manifest has one), else ``threshold``."""
        policy = self.manifest.ood
        if policy is None:
            return None
        if policy.alarm_threshold is None:
            return policy.threshold
        chosen, _ = self._choose(probs)
        return policy.threshold_for(self.manifest.class_names[chosen] in self.manifest.decision.alarming)

    def _choose(self, probs: np.ndarray) -> tuple[int, float]:
        """The class the decision policy picks, and the summed probability of the alarming classes."""
        policy = self.manifest.decision
        names = self.manifest.class_names
        probs = np.asarray(probs, dtype=np.float64)
        alarming_idx = [names.index(n) for n in policy.alarming]
        p_alarm = float(probs[alarming_idx].sum()) if alarming_idx else 0.0
        chosen = int(np.argmax(probs))
        if policy.alarm_threshold is not None and alarming_idx:
            calm_idx = [i for i in range(len(names)) if i not in alarming_idx]
            if p_alarm >= policy.alarm_threshold:
                chosen = max(alarming_idx, key=lambda i: probs[i])
            elif calm_idx:
                chosen = max(calm_idx, key=lambda i: probs[i])
        return chosen, p_alarm


def _failed(label: str, exc: TilikError) -> BatchItem:
    return BatchItem(label, None, exc)


__all__ = ["BatchItem", "Inspector", "ImageReadError", "clear_session_cache", "get_session"]
