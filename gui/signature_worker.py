"""Background work of Signature mode: verifiers, verification, reference checks, thumbnails.

Every task here is a QRunnable on the window's pool and reports through its :class:`WorkerHub`
(see :mod:`gui.workers`); none touches a widget or the inspection log. The log's reference
images are handed over as file paths read in the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from gui.workers import PackObjectCache, WorkerHub, _Task, qimage_to_rgb, rgb_to_qimage, small_heatmap

if TYPE_CHECKING:
    from inference.registry import Pack
    from inference.results import InspectionResult

THUMB_SIZE = (100, 50)  # reference gallery thumbnails (as gui.widgets.input_panel.THUMB_SIZE)


def threshold_for(table: Mapping[str, Any] | None, n: int) -> float | None:
    """The value for ``n`` references from a manifest table {"1": v, "3": v, ...}: the largest key
    <= n, else the smallest (the same rule the verifier uses)."""
    if not table:
        return None
    keys = sorted(int(k) for k in table)
    below = [k for k in keys if k <= n]
    value = table[str(below[-1] if below else keys[0])]
    return None if value is None else float(value)


def band_for(table: Mapping[str, Any] | None, n: int) -> tuple[float, float] | None:
    if not table:
        return None
    keys = sorted(int(k) for k in table)
    below = [k for k in keys if k <= n]
    band = table[str(below[-1] if below else keys[0])]
    return (float(band[0]), float(band[1])) if band else None


@dataclass(frozen=True)
class PackPolicy:
    """What the signature pack's manifest says about thresholds and references."""

    min_references: int
    thresholds: Mapping[str, Any]
    strict_thresholds: Mapping[str, Any] | None
    review_bands: Mapping[str, Any] | None

    @classmethod
    def of(cls, pack: Any) -> "PackPolicy":
        block = {}
        manifest = getattr(pack, "manifest", None)
        if manifest is not None:
            block = manifest.raw.get("verify") or {}
        scoring = block.get("scoring")
        if scoring:  # signature-verify 3: one operating point table (inference.signature.scoring)
            pts = scoring.get("operating_points") or {}
            return cls(int(scoring.get("min_references", 1) or 1),
                       {k: v["standard"]["threshold"] for k, v in pts.items()},
                       {k: v["strict"]["threshold"] for k, v in pts.items() if "strict" in v} or None,
                       {k: v["standard"]["review"] for k, v in pts.items()} or None)
        return cls(int(block.get("min_references", 1) or 1), block.get("thresholds") or {},
                   block.get("strict_thresholds") or None, block.get("review_bands") or None)

    def threshold(self, n: int) -> float | None:
        return threshold_for(self.thresholds, max(1, n))

    def strict_threshold(self, n: int) -> float | None:
        return threshold_for(self.strict_thresholds, max(1, n))

    def review_band(self, n: int) -> tuple[float, float] | None:
        return band_for(self.review_bands, max(1, n))


def _make_verifier(pack: Pack, provider: str | None) -> Any:
    from inference.signature.verifier import Verifier

    return Verifier(pack, provider)


class VerifierCache(PackObjectCache):
    """One :class:`Verifier` per (pack, provider preference), created in a worker thread."""

    def __init__(self) -> None:
        super().__init__(_make_verifier)


@dataclass(frozen=True)
class ReferenceInfo:
    """What the GUI knows about one enrolled reference used in a check."""

    id: int
    path: str
    document: str


@dataclass
class SignatureCheck:
    """One verified query, ready to show and to record."""

    result: Any                     # VerificationResult
    record: Any                     # the same as an InspectionResult, for the log
    customer_id: str
    document_ref: str
    references: tuple[ReferenceInfo, ...]
    strict: bool
    query: QImage
    heat: Any                       # float32 [0, 1], small, or None
    overlay: QImage
    source: str
    origin: str
    log_image: Any = None           # what the log stores: the file bytes or the RGB frame
    record_id: Any = None
    log_error: str | None = None

    @property
    def reference_ids(self) -> tuple[int, ...]:
        return tuple(r.id for r in self.references)


def as_inspection_result(vr: Any, manifest: Any) -> InspectionResult:
    """A :class:`VerificationResult` in the shape the inspection log records (see
    :func:`inference.log.verification.verification_as_inspection`)."""
    from inference.log.verification import verification_as_inspection

    return verification_as_inspection(vr, manifest)


def _read_source(source: Any, keep_pixels: bool) -> tuple[Any, Any]:
    """(what to decode, what the log stores) for a path, bytes, RGB array or QImage."""
    if isinstance(source, QImage):
        rgb = qimage_to_rgb(source)
        return rgb, rgb if keep_pixels else None
    if isinstance(source, (str, Path)):
        from inference.imageio import MAX_FILE_BYTES

        try:
            path = Path(source)
            if path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
                data = path.read_bytes()
                return data, data
        except OSError:
            pass  # load_image says why, in words
        return source, None
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), bytes(source)
    return source, source if keep_pixels else None


class VerifyTask(_Task):
    """Decode the query, verify it against the references, and prepare everything for display."""

    def __init__(self, hub: WorkerHub, request_id: int, cache: VerifierCache, pack: Pack, provider: str | None,
                 source: Any, name: str, origin: str, *, customer_id: str, document_ref: str,
                 references: Sequence[ReferenceInfo], strict: bool = False) -> None:
        super().__init__(hub, request_id)
        self.cache, self.pack, self.provider = cache, pack, provider
        self.source, self.name, self.origin = source, name, origin
        self.customer_id, self.document_ref = customer_id, document_ref
        self.references = tuple(references)
        self.strict = strict

    def source_name(self) -> str:
        return self.name

    def work(self) -> SignatureCheck:
        from inference.errors import UsageError
        from inference.imageio import load_image

        if not self.references:
            raise UsageError("Signature verification needs at least one reference signature.")
        verifier = self.cache.get(self.pack, self.provider)
        source, log_image = _read_source(self.source, keep_pixels=True)
        decoded = load_image(source, name=self.name)
        from inference.signature.verifier import NotASignatureError

        try:
            result = verifier.verify(decoded, [r.path for r in self.references], strict=self.strict, name=self.name,
                                     reference_names=[f"#{r.id}" for r in self.references])
        except NotASignatureError as exc:
            # A refused query is logged as refused (issue 20): hand the controller what it needs.
            exc.log_image, exc.manifest, exc.provider = log_image, verifier.manifest, verifier.provider
            raise
        record = as_inspection_result(result, verifier.manifest)
        return SignatureCheck(
            result=result, record=record, customer_id=self.customer_id, document_ref=self.document_ref,
            references=self.references, strict=self.strict, query=rgb_to_qimage(decoded.rgb),
            heat=small_heatmap(result.heatmap), overlay=rgb_to_qimage(result.overlay), source=self.name,
            origin=self.origin, log_image=log_image)


@dataclass
class ReferenceCandidate:
    """A file offered for enrolment, read and checked (``error`` says why it cannot be used)."""

    path: str
    data: bytes | None
    error: str | None = None
    thumb: QImage | None = None


def check_reference_files(cache: VerifierCache, pack: Pack, provider: str | None,
                          paths: Sequence[str | Path]) -> list[ReferenceCandidate]:
    """Read each file and check the pack can use it as a reference (decodes, has ink); worker thread."""
    from inference.errors import TilikError
    from inference.imageio import MAX_FILE_BYTES, load_image

    verifier = cache.get(pack, provider)
    out: list[ReferenceCandidate] = []
    for p in paths:
        path = Path(p)
        try:
            if path.is_dir():
                raise TilikError(f"{path}: this is a folder; choose signature image files.")
            if path.stat().st_size > MAX_FILE_BYTES:
                raise TilikError(f"{path}: the file is too large to be a signature image.")
            data = path.read_bytes()
            decoded = load_image(data, name=str(path))
            verifier.load_references([decoded])
            out.append(ReferenceCandidate(str(path), data, None, thumbnail(decoded.rgb)))
        except FileNotFoundError:
            out.append(ReferenceCandidate(str(path), None, f"{path}: no such file."))
        except OSError as exc:
            out.append(ReferenceCandidate(str(path), None, f"{path}: cannot be read ({exc.strerror or exc})."))
        except TilikError as exc:
            out.append(ReferenceCandidate(str(path), None, str(exc)))
    return out


def thumbnail(rgb: Any, size: tuple[int, int] = THUMB_SIZE) -> QImage:
    """A thumbnail QImage (safe in a worker thread) of an RGB array."""
    image = rgb_to_qimage(rgb)
    return image.scaled(size[0], size[1], Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation)


def load_thumbnails(items: Sequence[tuple[int, str | None]],
                    size: tuple[int, int] = THUMB_SIZE) -> dict[int, QImage | None]:
    """Thumbnails of the reference images ``[(id, path)]``; None for one that cannot be read."""
    from inference.errors import TilikError
    from inference.imageio import load_image

    out: dict[int, QImage | None] = {}
    for ref_id, path in items:
        try:
            out[ref_id] = thumbnail(load_image(path).rgb, size) if path else None
        except (TilikError, OSError):
            out[ref_id] = None
    return out


__all__ = ["PackPolicy", "ReferenceCandidate", "ReferenceInfo", "SignatureCheck", "VerifierCache", "VerifyTask",
           "as_inspection_result", "check_reference_files", "load_thumbnails", "threshold_for"]
