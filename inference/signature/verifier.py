"""The signature Verifier: is a query signature by the same hand as a customer's references?

>>> verifier = Verifier.for_pack("signature-verify")                      # doctest: +SKIP
>>> result = verifier.verify("cheque.png", ["ref1.png", "ref2.png", "ref3.png"])  # doctest: +SKIP
>>> result.label, result.score, result.needs_review                       # doctest: +SKIP

Per image: decode → normalise (:mod:`inference.signature.preprocess`) → the pack's CNN on the
canvas (``embedding``, the single-image ``probs`` and the ``cam`` heatmap) → GLCM, shape and
overlay descriptors. Per (query, reference) pair: the dichotomy vector
(:mod:`inference.signature.features`) → the SVM ONNX (``extra_files.svm``) → P(genuine).
Per query: the per-reference probabilities are fused (mean or max, from the manifest), offset by the
references' agreement with one another (reference normalisation), calibrated to [0, 1], and
compared with the validation threshold for that number of references (EER, or the strict
operating point). Everything numeric comes from the manifest's ``verify`` block.

Before any of that, every query and reference passes the pack's *domain check* (``verify.ood``):
an image whose CNN embedding lies far from the signatures the pack was built on (its squared norm:
the embedding is whitened on them) or whose normalised canvas carries more ink than signatures do
(a photo or a page of text turns into a canvas full of "ink" after binarisation) is refused with :class:`NotASignatureError` instead of being scored: the SVM would otherwise
answer for it as confidently as for a signature.
"""

from __future__ import annotations

import io
import hashlib
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from inference.errors import ImageReadError, InferenceError, PackUnusableError, TilikError, UsageError
from inference.imageio import MAX_FILE_BYTES, DecodedImage, ImageSource, load_image
from inference.inspector import get_session
from inference.manifest import Manifest
from inference.preprocess import preprocess, resize_float
from inference.providers import display_name
from inference.registry import Pack, PackRegistry
from inference.results import DECIDED, HEATMAP_MAX_PX, REVIEW, ReviewReason, Verdict
from inference.signature.features import Descriptor, FeatureSpec, Projection, describe, pair_vector
from inference.signature.overlay import OverlayCounts
from inference.signature.register import overlay as registered_overlay
from inference.signature.register import Target, register
from inference.signature.register import target as registration_target
from inference.signature.scoring import PairWeights, ScoringConfig, scoring_reasons
from inference.signature.scoring import score as score_embeddings
from inference.signature.scoring_wd import writer_classifier
from inference.signature.preprocess import NormalizedSignature, PreprocessOptions, normalize
from inference.wording import SUBJECTS, headline, reason_text

GENUINE, FORGED = "genuine", "forged"
_CACHE_SIZE = 64
_REFERENCE_SETS = 16  # reference sets whose agreement is kept (a counter serves a few customers at a time)
# The domain check's scores, in the order their reasons are given.
DOMAIN_SCORES = ("embedding_norm2", "ink_fraction")


class NotASignatureError(ImageReadError):
    """The image does not look like a signature scan (the pack's domain check, ``verify.ood``).

    Carries what a log record of the refusal needs (issue 20: refused queries are logged):
    ``image`` (the decoded image), ``role`` ("query" or "reference"), ``scores`` and ``limits``.
    """

    def __init__(self, message: str, *, image: DecodedImage | None = None, role: str = "image",
                 scores: Mapping[str, float] | None = None, limits: Mapping[str, float] | None = None) -> None:
        super().__init__(message, code="not_signature",
                         params={"source": image.source if image is not None else "", "role": role})
        self.image, self.role = image, role
        self.scores, self.limits = dict(scores or {}), dict(limits or {})


def domain_scores(descriptor: Descriptor) -> dict[str, float]:
    """The domain check's scores of one described image: the squared norm of its CNN embedding
    (whitened on the pack's development signatures, so about its Mahalanobis distance from them)
    and the share of the normalised canvas that is ink."""
    out = {"ink_fraction": float(np.mean(descriptor.signature.mask))}
    if descriptor.embedding is not None:
        out["embedding_norm2"] = float(np.sum(np.square(np.asarray(descriptor.embedding, np.float64))))
    return out


@dataclass(frozen=True)
class VerifyTimings:
    """Milliseconds per stage of one verification (references included)."""

    decode_ms: float
    preprocess_ms: float
    cnn_ms: float
    svm_ms: float
    total_ms: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.__dict__.items()}


@dataclass(frozen=True, eq=False)
class VerificationResult:
    """Everything one verification produced. ``score`` is in [0, 1], higher = more likely genuine."""

    source: str
    label: str
    display_label: str
    verdict: str
    score: float
    threshold: float
    operating_point: str                     # "standard" (validation EER) or "strict"
    reference_sources: tuple[str, ...]
    reference_scores: tuple[float, ...]      # calibrated P(genuine) of the query against each reference
    closest_reference: int                   # index of the reference the overlay is drawn against
    needs_review: bool
    review_reasons: tuple[str, ...]
    # RGB uint8 (canvas size): yellow both, red reference only, green query only; None (and no
    # counts) when the caller asked for no overlay (verify(overlay=False): no registration run)
    overlay: np.ndarray | None
    overlay_counts: Mapping[str, float] | None
    heatmap: np.ndarray | None               # float32 [0, 1] at the query image's size
    canvas: np.ndarray                       # the query's normalised canvas (uint8)
    canvas_heatmap: np.ndarray | None        # float32 [0, 1] at canvas size
    single_image: Mapping[str, float]        # the CNN's single-image genuine/forged probabilities (study protocol)
    pack_id: str
    pack_version: str
    pack_sha256: str
    provider: str
    image_sha256: str
    image_size: tuple[int, int]
    image_notes: tuple[str, ...]
    timings: VerifyTimings
    details: Mapping[str, Any] = field(default_factory=dict)
    manifest_sha256: str = ""                # of the manifest.json that set the thresholds and policy
    decision: Verdict | None = None  # the verdict model (inference.results), basis "match"

    def to_json_dict(self, *, overlay_path: str | None = None) -> dict[str, Any]:
        """The JSON object ``tilik verify --json`` prints for this result."""
        return {
            "path": self.source,
            "pack": self.pack_id,
            "pack_version": self.pack_version,
            "pack_sha256": self.pack_sha256,
            "manifest_sha256": self.manifest_sha256,
            "provider": self.provider,
            "label": self.label,
            "display_label": self.display_label,
            "verdict": self.verdict,
            "score": round(float(self.score), 6),
            "threshold": round(float(self.threshold), 6),
            "operating_point": self.operating_point,
            "references": list(self.reference_sources),
            "reference_scores": [round(float(s), 6) for s in self.reference_scores],
            "closest_reference": self.reference_sources[self.closest_reference],
            "needs_review": self.needs_review,
            "review_reasons": list(self.review_reasons),
            "decision": self.decision.as_dict() if self.decision else None,
            "overlay": overlay_path,
            "overlay_counts": None if self.overlay_counts is None else dict(self.overlay_counts),
            "single_image": {k: round(float(v), 6) for k, v in self.single_image.items()},
            "image_sha256": self.image_sha256,
            "image_size": list(self.image_size),
            "image_notes": list(self.image_notes),
            "timings_ms": self.timings.as_dict(),
            "domain_scores": dict(self.details.get("domain_scores") or {}),
        }


@dataclass(frozen=True)
class _ImageInfo:
    """What a described image keeps of its decoding: the cache never holds pixels."""

    source: str
    sha256: str
    width: int
    height: int
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, image: DecodedImage) -> "_ImageInfo":
        return cls(image.source, image.sha256, image.width, image.height, tuple(image.notes))


def _read_for_hash(src: ImageSource, name: str | None) -> tuple[ImageSource, str | None, str | None]:
    """``(source to decode, SHA-256 of its bytes, its name)`` without decoding: a file is read once
    here and its bytes are what gets decoded on a cache miss. The hash is None for arrays (their
    hash is of the pixels) and for files that cannot be read (load_image then says why, in words)."""
    if isinstance(src, DecodedImage):
        return src, src.sha256, src.source
    if isinstance(src, (bytes, bytearray)):
        return src, hashlib.sha256(src).hexdigest(), name or "image"
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        try:
            if path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
                data = path.read_bytes()
                return data, hashlib.sha256(data).hexdigest(), name or str(path)
        except OSError:
            pass
    return src, None, name


@dataclass(eq=False)
class _Described:
    image: _ImageInfo
    descriptor: Descriptor
    probs: np.ndarray | None
    cam: np.ndarray | None
    decode_ms: float
    preprocess_ms: float
    cnn_ms: float = 0.0


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def _by_refs(table: Mapping[str, Any] | None, n: int) -> Any:
    """Value for ``n`` references from a {"1": v, "3": v, ...} table: the largest key <= n (else the smallest)."""
    if not table:
        return None
    keys = sorted(int(k) for k in table)
    below = [k for k in keys if k <= n]
    return table[str(below[-1] if below else keys[0])]


class Verifier:
    """Verify query signatures against reference signatures with one ``verify``/``signature`` pack."""

    def __init__(self, pack: Pack, provider: str | None = None) -> None:
        self.pack = pack
        self.manifest: Manifest = pack.require_usable()
        m = self.manifest
        if m.task != "verify" or m.mode != "signature":
            raise PackUnusableError(f"Pack '{pack.id}' is a '{m.task}'/'{m.mode}' pack, not a signature verifier.")
        block = m.raw.get("verify") or {}
        # signature-verify 3: embedding cosine on one calibrated scale (inference.signature.scoring);
        # older packs: pair features through an SVM.
        self.scoring = ScoringConfig.from_mapping(block["scoring"], pack.id) if "scoring" in block else None
        needed = ("preprocess",) if self.scoring else ("preprocess", "features", "svm", "thresholds")
        for key in needed:
            if key not in block:
                raise PackUnusableError(f"Pack '{pack.id}': the manifest's verify block has no '{key}'.")
        self.block = block
        self.options = PreprocessOptions.from_mapping(block["preprocess"])
        self.spec = FeatureSpec.from_mapping(block.get("features") or {"blocks": ["cnn"]})
        self.cnn = get_session(pack, "model", provider)
        if self.scoring is None and "svm" not in m.extra_files:
            raise PackUnusableError(f"Pack '{pack.id}' has no 'svm' file.")
        self.svm = get_session(pack, "svm", provider) if self.scoring is None else None
        self.pair_head = None
        if self.scoring is not None and "pair_head" in m.extra_files:  # the checked bytes, as for the projection
            self.pair_head = PairWeights.from_bytes(pack.read_file("pair_head"), pack.id)
        self.writer = None  # 3.1 "writer_fused": the per-customer classifier (inference.signature.scoring_wd)
        if self.scoring is not None and self.scoring.writer is not None:
            self.writer = writer_classifier(pack, self.scoring.writer)
        self.projection: Projection | None = None
        if self.scoring is None and "cnn" in self.spec.blocks and self.spec.projection_dims:
            try:  # the checked bytes, not the path: what was hashed is what is used
                self.projection = Projection.load(io.BytesIO(pack.read_file("projection")))
            except (OSError, ValueError, KeyError) as exc:
                raise PackUnusableError(f"Pack '{pack.id}': its projection file cannot be read ({exc}).") from exc
        svm_cfg = block.get("svm") or {}
        self._svm_input = svm_cfg.get("input", "input")
        self._svm_output = svm_cfg.get("output", "probabilities")
        self._genuine_col = int(svm_cfg.get("genuine_index", 1))
        self._check_models()
        self.domain_limits = {k: float(v) for k, v in ((block.get("ood") or {}).get("limits") or {}).items()}
        unknown = sorted(set(self.domain_limits) - set(DOMAIN_SCORES))
        if unknown:  # a limit the app cannot compute would be a check that silently never fires
            raise PackUnusableError(f"Pack '{pack.id}': the domain check has limits for unknown scores {unknown}.")
        self._cache: OrderedDict[str, _Described] = OrderedDict()
        # Reference agreement (every ordered pair of references through the SVM) is the same for
        # every query against one reference set: kept per tuple of the references' SHA-256s.
        self._agreements: OrderedDict[tuple[str, ...], np.ndarray] = OrderedDict()
        # The registration's reference side (pose, dilated inks, their FFTs), per reference file hash.
        self._targets: OrderedDict[str, Target] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def for_pack(cls, pack_id: str = "signature-verify", registry: PackRegistry | None = None,
                 provider: str | None = None) -> "Verifier":
        return cls((registry or PackRegistry()).get(pack_id), provider)

    # -- set-up checks -------------------------------------------------------------------------
    def _check_models(self) -> None:
        m = self.manifest
        inputs = {i.name: i for i in self.cnn.session.get_inputs()}
        if m.input.name not in inputs:
            raise PackUnusableError(f"Pack '{m.id}': the CNN has no input named '{m.input.name}'.")
        outs = {o.name for o in self.cnn.session.get_outputs()}
        for role, name in m.outputs.items():
            if name not in outs:
                raise PackUnusableError(f"Pack '{m.id}': the CNN has no output '{name}' ({role}).")
        if ("cnn" in self.spec.blocks or self.scoring) and "embedding" not in m.outputs:
            raise PackUnusableError(f"Pack '{m.id}': the 'cnn' features need an 'embedding' output.")
        if self.svm is None:
            return
        svm_in = self.svm.session.get_inputs()
        if [i.name for i in svm_in] != [self._svm_input]:
            raise PackUnusableError(f"Pack '{m.id}': the SVM's input is not '{self._svm_input}'.")
        expected = len(self.block.get("feature_names", [])) or None
        width = svm_in[0].shape[1] if len(svm_in[0].shape) == 2 else None
        if expected is not None and isinstance(width, int) and width != expected:
            raise PackUnusableError(f"Pack '{m.id}': the SVM takes {width} features, the manifest lists {expected}.")
        if self._svm_output not in {o.name for o in self.svm.session.get_outputs()}:
            raise PackUnusableError(f"Pack '{m.id}': the SVM has no output '{self._svm_output}'.")

    @property
    def provider(self) -> str:
        return display_name(self.cnn.provider)

    # -- per image -----------------------------------------------------------------------------
    def _normalize(self, image: ImageSource, name: str | None) -> tuple[DecodedImage, NormalizedSignature, float, float]:
        t0 = time.perf_counter()
        decoded = load_image(image, name=name)
        t1 = time.perf_counter()
        try:
            # The skeleton only feeds the older packs' pair features (shape, overlay blocks).
            sig = normalize(decoded.rgb, self.options, skeleton=self.scoring is None)
        except TilikError as exc:
            raise type(exc)(f"{decoded.source}: {exc}") from exc
        return decoded, sig, (t1 - t0) * 1e3, (time.perf_counter() - t1) * 1e3

    def _run_cnn(self, sigs: Sequence[NormalizedSignature]) -> tuple[dict[str, np.ndarray], float]:
        t0 = time.perf_counter()
        batch = np.stack([preprocess(s.rgb(), self.manifest.input)[0] for s in sigs])
        names = list(self.manifest.outputs.values())
        try:
            arrays = self.cnn.session.run(names, {self.manifest.input.name: batch})
        except Exception as exc:  # onnxruntime raises its own types
            raise InferenceError(f"The model '{self.manifest.id}' failed to run: {exc}") from exc
        out = dict(zip(self.manifest.outputs.keys(), arrays))
        return out, (time.perf_counter() - t0) * 1e3

    def _describe_many(self, sources: Sequence[ImageSource], names: Sequence[str | None],
                       use_cache: bool) -> list[_Described]:
        """Describe images (CNN in one batch); cached by the SHA-256 of the file's bytes when
        ``use_cache``: a cached image is looked up by that hash alone, never decoded again."""
        decoded: dict[int, _ImageInfo] = {}
        done, todo = {}, []
        for i, (src, name) in enumerate(zip(sources, names)):
            t0 = time.perf_counter()
            img = None
            if use_cache:
                src, sha, label = _read_for_hash(src, name)
                if sha is None and isinstance(src, np.ndarray):
                    img = load_image(src, name=name)  # no decoding to speak of: a copy at most
                    sha, label = img.sha256, img.source
                with self._lock:
                    hit = self._cache.get(sha) if sha is not None else None
                    if hit is not None:
                        self._cache.move_to_end(sha)
                if hit is not None:
                    done[i] = _Described(replace(hit.image, source=label or hit.image.source), hit.descriptor,
                                         hit.probs, hit.cam, (time.perf_counter() - t0) * 1e3, 0.0)
                    continue
                name = label
            if img is None:
                img = load_image(src, name=name)
            decode_ms = (time.perf_counter() - t0) * 1e3
            decoded[i] = _ImageInfo.of(img)
            _, sig, _, prep_ms = self._normalize(img, None)
            del img  # the pixels are not needed past the normalised canvas
            todo.append((i, sig, decode_ms, prep_ms))
        if todo:
            out, cnn_ms = self._run_cnn([t[1] for t in todo])
            for k, (i, sig, decode_ms, prep_ms) in enumerate(todo):
                emb = out["embedding"][k] if "embedding" in out else None
                t0 = time.perf_counter()
                desc = (Descriptor.embedding_only(sig, emb) if self.scoring
                        else describe(sig, self.spec, emb, self.projection))
                prep_ms += (time.perf_counter() - t0) * 1e3
                cam = out.get("cam")
                cam_k = None if cam is None else np.asarray(cam[k], np.float32).reshape(cam.shape[1], cam.shape[2])
                probs = np.asarray(out["probs"][k], np.float64) if "probs" in out else None
                d = _Described(decoded[i], desc, probs, cam_k, decode_ms, prep_ms, cnn_ms / len(todo))
                done[i] = d
                if use_cache:
                    with self._lock:
                        self._cache[decoded[i].sha256] = d
                        while len(self._cache) > _CACHE_SIZE:
                            self._cache.popitem(last=False)
        return [done[i] for i in range(len(sources))]

    # -- scoring -------------------------------------------------------------------------------
    def _svm_probs(self, vectors: np.ndarray) -> np.ndarray:
        if len(vectors) == 0:
            return np.zeros(0)
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        if not np.all(np.isfinite(x)):
            raise InferenceError("The signature features are not finite numbers (a degenerate image?).")
        try:
            (probs,) = self.svm.session.run([self._svm_output], {self._svm_input: x})
        except Exception as exc:
            raise InferenceError(f"The SVM of '{self.manifest.id}' failed to run: {exc}") from exc
        probs = np.asarray(probs, np.float64)
        return probs[:, self._genuine_col] if probs.ndim == 2 else probs

    def pair_scores(self, query: Descriptor, refs: Sequence[Descriptor]) -> np.ndarray:
        """P(genuine) of ``query`` against each reference (the SVM's calibrated output)."""
        return self._svm_probs(np.stack([pair_vector(query, r, self.spec) for r in refs]))

    def reference_agreement(self, refs: Sequence[Descriptor], key: tuple[str, ...] | None = None) -> np.ndarray:
        """For each reference: mean P(genuine) of it against the other references (n ≥ 2).
        With ``key`` (the references' SHA-256s, in order) the answer is computed once per set."""
        if key is not None:
            with self._lock:
                cached = self._agreements.get(key)
            if cached is not None:
                return cached.copy()
            out = self.reference_agreement(refs)
            with self._lock:
                self._agreements[key] = out.copy()
                while len(self._agreements) > _REFERENCE_SETS:
                    self._agreements.popitem(last=False)
            return out
        n = len(refs)
        if n < 2:
            return np.full(n, np.nan)
        pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
        probs = self._svm_probs(np.stack([pair_vector(refs[i], refs[j], self.spec) for i, j in pairs]))
        out = np.zeros(n)
        for (i, _), p in zip(pairs, probs):
            out[i] += p / (n - 1)
        return out

    def fuse(self, per_ref: np.ndarray, agreement: np.ndarray) -> float:
        """Fused, reference-normalised, calibrated score in [0, 1] (the manifest's recipe)."""
        how = self.block.get("fusion", "mean")
        fused = float(np.max(per_ref)) if how == "max" else float(np.mean(per_ref))
        norm = self.block.get("reference_normalization") or {}
        lam = float(norm.get("lambda", 0.0))
        prior = float(norm.get("prior", 0.0))
        ref_level = float(np.mean(agreement)) if len(agreement) >= 2 and np.all(np.isfinite(agreement)) else prior
        raw = fused - lam * ref_level
        cal = self.block.get("calibration")
        if cal:
            return _sigmoid(float(cal["a"]) * raw + float(cal["b"]))
        return float(np.clip(raw, 0.0, 1.0))

    # -- public API ----------------------------------------------------------------------------
    def load_references(self, references: Sequence[ImageSource]) -> None:
        """Decode, normalise and describe the references now (they are cached for :meth:`verify`);
        raises the first reference's error, e.g. an unreadable file or one with no ink."""
        if not references:
            raise UsageError("Signature verification needs at least one reference signature.")
        for r in self._describe_many(references, [None] * len(references), use_cache=True):
            self.check_domain(r, "reference")

    def domain_scores_of(self, image: ImageSource, name: str | None = None) -> dict[str, float]:
        """The domain check's scores of one image (decoded, normalised and embedded; not cached),
        whatever the limits: what the training side measures the check with."""
        return domain_scores(self._describe_many([image], [name], use_cache=False)[0].descriptor)

    def check_domain(self, d: "_Described", role: str = "image") -> dict[str, float]:
        """The domain check's scores of ``d``; raises :class:`NotASignatureError` when one is above the
        pack's limit (``role``, e.g. "query" or "reference", names the image in the message)."""
        scores = domain_scores(d.descriptor)
        over = [k for k in DOMAIN_SCORES if k in self.domain_limits and k in scores
                and scores[k] > self.domain_limits[k]]
        if over:
            why = []
            if "embedding_norm2" in over:
                why.append(f"its features are far from every signature the pack was built on (distance "
                           f"{scores['embedding_norm2']:.0f}, limit {self.domain_limits['embedding_norm2']:.0f})")
            if "ink_fraction" in over:
                why.append(f"ink would cover {100 * scores['ink_fraction']:.1f}% of the signature area "
                           f"(signatures: at most {100 * self.domain_limits['ink_fraction']:.1f}%)")
            raise NotASignatureError(
                f"{d.image.source}: the {role} does not look like a signature scan: {'; '.join(why)}. "
                "Use a scan or photo of the signature alone, dark ink on light paper; no verdict was given.",
                image=d.image, role=role, scores=scores, limits=self.domain_limits)
        return scores

    def verify(self, query: ImageSource, references: Sequence[ImageSource], *, strict: bool = False,
               name: str | None = None, reference_names: Sequence[str] | None = None,
               overlay: bool = True) -> VerificationResult:
        """Verify one query against the customer's reference signatures (paths, bytes or arrays).

        ``overlay=False`` skips registering the query onto its closest reference and drawing the
        red/green/yellow picture (``overlay`` and ``overlay_counts`` are then None): the scores and
        the verdict do not depend on them, and registration is the largest cost of a query after
        the CNN. The GUI and ``tilik verify --overlay-dir`` ask for it."""
        if not references:
            raise UsageError("Signature verification needs at least one reference signature.")
        t0 = time.perf_counter()
        ref_names = list(reference_names) if reference_names is not None else [None] * len(references)
        refs = self._describe_many(references, ref_names, use_cache=True)
        for r in refs:
            self.check_domain(r, "reference")
        q = self._describe_many([query], [name], use_cache=False)[0]
        q_domain = self.check_domain(q, "query")
        t_svm = time.perf_counter()
        ref_desc = [r.descriptor for r in refs]
        n = len(refs)
        extra: dict[str, Any] = {}
        if self.scoring is not None:
            ref_emb = np.stack([d.embedding for d in ref_desc])
            shift = None if self.writer is None else self.writer.shift(
                q.descriptor.embedding, ref_emb, tuple(r.image.sha256 for r in refs))
            scored = score_embeddings(q.descriptor.embedding, ref_emb, self.scoring, head=self.pair_head, shift=shift)
            per_ref, agreement, score = scored.per_reference, scored.agreement, scored.overall
            point_obj, point = self.scoring.point(n, strict)
            threshold = point_obj.threshold
            reasons = scoring_reasons(score, n, point_obj, agreement, [r.image.source for r in refs], self.scoring)
            extra = {"cosines": [round(float(c), 6) for c in scored.cosines],
                     "reference_level": round(float(scored.level), 6),
                     "review_band": [point_obj.low, point_obj.high], "aggregate": self.scoring.aggregate,
                     "writer_shift": None if scored.shift is None else round(float(scored.shift), 6)}
        else:
            per_ref = self.pair_scores(q.descriptor, ref_desc)
            agreement = self.reference_agreement(ref_desc, tuple(r.image.sha256 for r in refs))
            score = self.fuse(per_ref, agreement)
            threshold, point = self._threshold(n, strict)
            reasons = self._review_reasons(score, n, per_ref, agreement, refs, strict)
        svm_ms = (time.perf_counter() - t_svm) * 1e3
        label = GENUINE if score >= threshold else FORGED
        closest = int(np.argmax(per_ref))
        picture = counts = None
        if overlay:
            # the overlay: the query registered onto its closest reference (scale, rotation, shift)
            ref_mask = ref_desc[closest].signature.mask
            reg = register(q.descriptor.signature.mask, self._target(refs[closest].image.sha256, ref_mask))
            picture, stats = registered_overlay(reg.aligned, ref_mask, self.spec.overlay_tolerance)
            counts = stats.as_dict()
            extra["registration"] = reg.as_dict()
        heatmap = self._heatmap_on_image(q, HEATMAP_MAX_PX)
        display = self.manifest.class_label(label)
        decision = Verdict(REVIEW if reasons else DECIDED, label,
                           self.manifest.decision.verdict_words.get(label, display),
                           float(score) if label == GENUINE else 1.0 - float(score), reasons=tuple(reasons),
                           basis="match", score=float(score), threshold=float(threshold),
                           subject=self.manifest.words.get("subject") or SUBJECTS["signature"])
        verdict = headline(decision)
        single = {}
        if q.probs is not None:
            single = {c: float(p) for c, p in zip(self.manifest.class_names, q.probs)}
        total = (time.perf_counter() - t0) * 1e3
        timings = VerifyTimings(q.decode_ms + sum(r.decode_ms for r in refs),
                                q.preprocess_ms + sum(r.preprocess_ms for r in refs),
                                q.cnn_ms + sum(r.cnn_ms for r in refs), svm_ms, total)
        return VerificationResult(
            source=q.image.source, label=label, display_label=display, verdict=verdict, score=score,
            threshold=threshold, operating_point=point,
            reference_sources=tuple(r.image.source for r in refs),
            reference_scores=tuple(float(p) for p in per_ref), closest_reference=closest,
            needs_review=bool(reasons), review_reasons=tuple(reason_text(r) for r in reasons), overlay=picture,
            overlay_counts=counts, heatmap=heatmap, canvas=q.descriptor.signature.canvas,
            canvas_heatmap=q.cam, single_image=single, pack_id=self.manifest.id,
            pack_version=self.manifest.version, pack_sha256=self.manifest.model.sha256,
            manifest_sha256=self.manifest.sha256, provider=self.provider,
            image_sha256=q.image.sha256, image_size=(q.image.width, q.image.height),
            image_notes=tuple(q.image.notes) + tuple(q.descriptor.signature.notes), timings=timings,
            details={"reference_agreement": [None if not np.isfinite(a) else round(float(a), 6) for a in agreement],
                     "n_references": n, "domain_scores": {k: round(v, 6) for k, v in q_domain.items()},
                     "domain_limits": dict(self.domain_limits), **extra},
            decision=decision,
        )

    def _target(self, sha256: str, mask: np.ndarray) -> Target:
        """The registration target of a reference, made once per reference file (by its hash)."""
        key = f"{sha256}:{self.spec.overlay_tolerance}"
        with self._lock:
            found = self._targets.get(key)
            if found is not None and found.mask.shape == mask.shape:
                self._targets.move_to_end(key)
                return found
        made = registration_target(mask, self.spec.overlay_tolerance)
        with self._lock:
            self._targets[key] = made
            while len(self._targets) > _CACHE_SIZE:
                self._targets.popitem(last=False)
        return made

    # -- decision helpers ----------------------------------------------------------------------
    def _threshold(self, n: int, strict: bool) -> tuple[float, str]:
        if strict:
            t = _by_refs(self.block.get("strict_thresholds"), n)
            if t is not None:
                return float(t), "strict"
        return float(_by_refs(self.block["thresholds"], n)), "standard"

    def _review_reasons(self, score: float, n: int, per_ref: np.ndarray, agreement: np.ndarray,
                        refs: Sequence[_Described], strict: bool) -> list[ReviewReason]:
        """Why a person must look, as codes with parameters (words: inference.wording)."""
        reasons: list[ReviewReason] = []
        band = _by_refs(self.block.get("review_bands"), n)
        if band is not None:
            low, high = float(band[0]), float(band[1])
            if low <= score < high:
                reasons.append(ReviewReason("signature_band", {"score": float(score), "low": low, "high": high, "n": n}))
        min_refs = int(self.block.get("min_references", 1))
        if n < min_refs:
            eers = self.block.get("validation_eer_by_references") or {}
            both = str(n) in eers and str(min_refs) in eers
            reasons.append(ReviewReason("few_references", {
                "n": n, "minimum": min_refs, "eer_n": float(eers[str(n)]) if both else None,
                "eer_min": float(eers[str(min_refs)]) if both else None}))
        spread = float(self.block.get("disagreement", 0.5))
        if n >= 2 and float(per_ref.max() - per_ref.min()) >= spread:
            reasons.append(ReviewReason("references_disagree", {"low": float(per_ref.min()), "high": float(per_ref.max())}))
        floor = self.block.get("reference_agreement_floor")
        if floor is not None and n >= 3 and np.all(np.isfinite(agreement)):
            odd = [i for i, a in enumerate(agreement) if a < float(floor)]
            for i in odd:
                reasons.append(ReviewReason("reference_outlier", {"source": refs[i].image.source,
                                                                  "agreement": float(agreement[i])}))
        return reasons

    def _heatmap_on_image(self, q: _Described, max_px: int | None = None) -> np.ndarray | None:
        """The query's CAM (canvas) mapped back onto the query image (zero outside the ink's box),
        at the image's size shrunk so its longer side is at most ``max_px`` (never a 12-MP map)."""
        if q.cam is None:
            return None
        sig = q.descriptor.signature
        cam = q.cam
        H, W = sig.canvas.shape
        if cam.shape != (H, W):
            cam = resize_float(cam, W, H)
        iw, ih = q.image.width, q.image.height
        s = 1.0 if max_px is None else min(1.0, max_px / max(iw, ih))
        ow, oh = max(1, round(iw * s)), max(1, round(ih * s))
        out = np.zeros((oh, ow), np.float32)
        if sig.canvas_box is None:
            return out
        cx, cy, cw, ch = sig.canvas_box
        x, y, w, h = sig.bbox
        w, h = min(w, iw - x), min(h, ih - y)
        if w <= 0 or h <= 0:
            return out
        x0, y0 = min(round(x * s), ow - 1), min(round(y * s), oh - 1)
        w, h = max(1, min(round(w * s), ow - x0)), max(1, min(round(h * s), oh - y0))
        out[y0:y0 + h, x0:x0 + w] = resize_float(cam[cy:cy + ch, cx:cx + cw], w, h)
        return np.clip(out, 0.0, 1.0)


__all__ = ["FORGED", "GENUINE", "VerificationResult", "Verifier", "VerifyTimings", "OverlayCounts"]
